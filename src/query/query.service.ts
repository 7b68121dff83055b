import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { WEBHOOK_KEY_PATTERN, WEBHOOK_KEY_RULE } from '../contract/contract-rules';
import { ReadResult, RecordStore } from '../store/record-store';
import { etagMatches } from './etag';

export const WEBHOOK_KEY_HEADER = 'x-webhook-key';

@Injectable()
export class QueryService {
  constructor(private readonly records: RecordStore) {}

  async read(
    webhookKey: string | undefined,
    ifNoneMatch: string | undefined,
  ): Promise<ReadResult & { kind: 'found' | 'not-modified' }> {
    if (webhookKey === undefined || webhookKey === '') {
      throw new ApiException(400, `Missing ${WEBHOOK_KEY_HEADER} header`);
    }
    if (!WEBHOOK_KEY_PATTERN.test(webhookKey)) {
      throw new ApiException(400, `${WEBHOOK_KEY_HEADER} must be ${WEBHOOK_KEY_RULE}`);
    }
    const holdsCurrent = ifNoneMatch === undefined ? undefined : (etag: string) => etagMatches(ifNoneMatch, etag);
    const result = await this.records.read(webhookKey, holdsCurrent);
    if (result.kind === 'missing') throw new ApiException(404, 'No data under this webhook key (unknown or expired)');
    return result;
  }

  /**
   * Answers `{ "items": {...}, "missing": [...] }` as bytes: the stored bodies are spliced in as they are, never
   * parsed and serialised again.
   */
  async readMany(webhookKeys: string[]): Promise<Buffer> {
    const found = await this.records.readMany(webhookKeys);
    const parts: Buffer[] = [Buffer.from('{"items":{')];
    const missing: string[] = [];
    for (const key of webhookKeys) {
      const body = found.get(key);
      if (body === undefined) {
        missing.push(key);
        continue;
      }
      parts.push(Buffer.from(`${parts.length > 1 ? ',' : ''}${JSON.stringify(key)}:`), body);
    }
    parts.push(Buffer.from(`},"missing":${JSON.stringify(missing)}}`));
    return Buffer.concat(parts);
  }
}
