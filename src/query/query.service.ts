import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ServerResponse } from 'node:http';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { WEBHOOK_KEY_PATTERN, WEBHOOK_KEY_RULE } from '../contract/contract-rules';
import { MetricsService } from '../metrics/metrics.service';
import { FoundRecord, ReadResult, RecordReader } from '../store/record-reader';
import { etagMatches } from './etag';
import { ReadMissLimiter, ReadOrigin } from './read-miss-limiter';
import { ClientListener, WaitedRead, WaitingClient, WaitingReads } from './waiting-reads';

export const WEBHOOK_KEY_HEADER = 'x-webhook-key';

/** How a read may wait: for `seconds` at most, while its client is there. */
export interface ReadWait {
  seconds: number;
  client: WaitingClient;
}

/** A wait that ends early when the client closes its connection, so that its waiter is freed at once. */
export function waitUntilGone(seconds: number, response: ServerResponse): ReadWait {
  return { seconds, client: new ResponseClient(response) };
}

/** The client of an HTTP read: gone once its connection closed before the answer was written. */
class ResponseClient implements WaitingClient {
  private onClose: (() => void) | null = null;

  constructor(private readonly response: ServerResponse) {}

  get gone(): boolean {
    return this.response.destroyed && !this.response.writableFinished;
  }

  listen(listener: ClientListener): void {
    const { response } = this;
    this.forget();
    this.onClose = () => {
      if (!response.writableFinished) listener.clientGone();
    };
    // `on`, not `once`: a response closes once, and `once` would wrap the listener in a bound function of its own.
    response.on('close', this.onClose);
  }

  forget(): void {
    if (this.onClose === null) return;
    this.response.removeListener('close', this.onClose);
    this.onClose = null;
  }
}

export interface BatchRead {
  webhookKeys: string[];
  /** ETags the client holds, by key: those keys count as changed once their ETag differs. */
  etags?: Record<string, string>;
  wait?: ReadWait;
}

@Injectable()
export class QueryService implements OnModuleInit {
  constructor(
    private readonly records: RecordReader,
    private readonly waits: WaitingReads,
    private readonly limiter: ReadMissLimiter,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get waitMaxSeconds(): number {
    return this.config.reads.waitMaxSeconds;
  }

  onModuleInit(): void {
    this.records.followChanges();
    this.metrics.reportReadCacheBytes(() => this.records.cacheBytes);
  }

  async read(
    webhookKey: string | undefined,
    ifNoneMatch: string | undefined,
    origin: ReadOrigin,
    wait?: ReadWait,
  ): Promise<ReadResult & { kind: 'found' | 'not-modified' }> {
    if (webhookKey === undefined || webhookKey === '') {
      throw new ApiException(400, `Missing ${WEBHOOK_KEY_HEADER} header`);
    }
    if (!WEBHOOK_KEY_PATTERN.test(webhookKey)) {
      throw new ApiException(400, `${WEBHOOK_KEY_HEADER} must be ${WEBHOOK_KEY_RULE}`);
    }
    this.limiter.refuseIfBlocked(origin);
    const result = await this.readOnceChanged(webhookKey, ifNoneMatch, wait);
    if (result.kind === 'missing') {
      await this.limiter.countMisses(origin, 1);
      throw new ApiException(404, 'No data under this webhook key (unknown or expired)');
    }
    return result;
  }

  /**
   * Reads the key; with a wait, once the answer differs from what the client has (the ETag in If-None-Match, answered
   * 304, or nothing, answered 404) or the wait is over. The key must be well-formed.
   */
  readOnceChanged(webhookKey: string, ifNoneMatch: string | undefined, wait?: ReadWait): Promise<ReadResult> {
    const keyRead = new KeyRead(this.records, webhookKey, ifNoneMatch);
    if (wait === undefined) return keyRead.read();
    return this.waits.until([webhookKey], wait.seconds, wait.client, keyRead);
  }

  /**
   * Answers `{ "items": {...}, "etags": {...}, "missing": [...] }` as bytes: the stored bodies are spliced in as they
   * are, never parsed and serialised again. With a wait, answers once any key differs from what the client holds
   * (the ETag in `etags`, or absence for a key without one), or when the wait is over.
   */
  async readMany(batch: BatchRead, origin: ReadOrigin): Promise<Buffer> {
    const { webhookKeys, etags = {} } = batch;
    const stray = Object.keys(etags).find((key) => !webhookKeys.includes(key));
    if (stray !== undefined) {
      throw new ApiException(400, 'Invalid request', {
        details: [{ field: 'etags', message: `names ${JSON.stringify(stray)}, which is not in webhookKeys` }],
      });
    }
    this.limiter.refuseIfBlocked(origin);
    const batchRead: WaitedRead<Map<string, FoundRecord>> = {
      read: () => this.records.readMany(webhookKeys),
      unchanged: (found) =>
        webhookKeys.every((key) => {
          // Own entries only: a key named like an Object.prototype member (`constructor`) is a valid webhook key.
          const held = Object.hasOwn(etags, key) ? etags[key] : undefined;
          const current = found.get(key);
          return held === undefined ? current === undefined : current !== undefined && etagMatches(held, current.etag);
        }),
    };
    const found = batch.wait
      ? await this.waits.until(webhookKeys, batch.wait.seconds, batch.wait.client, batchRead)
      : await batchRead.read();
    await this.limiter.countMisses(origin, webhookKeys.length - found.size);
    return renderBatch(webhookKeys, found);
  }
}

/**
 * A read of one key, and whether its answer is what the client has (the ETag in If-None-Match: not modified; or,
 * without one, nothing). An object with methods rather than closures: a waiting GET holds it for its whole wait.
 */
class KeyRead implements WaitedRead<ReadResult> {
  constructor(
    private readonly records: RecordReader,
    private readonly webhookKey: string,
    private readonly ifNoneMatch: string | undefined,
  ) {}

  read(): Promise<ReadResult> {
    const { ifNoneMatch } = this;
    return this.records.read(
      this.webhookKey,
      ifNoneMatch === undefined ? undefined : (etag: string) => etagMatches(ifNoneMatch, etag),
    );
  }

  unchanged(result: ReadResult): boolean {
    return result.kind === (this.ifNoneMatch === undefined ? 'missing' : 'not-modified');
  }
}

function renderBatch(webhookKeys: string[], found: Map<string, FoundRecord>): Buffer {
  const parts: Buffer[] = [Buffer.from('{"items":{')];
  // A Map, written out with Object.fromEntries: `etags["__proto__"] = ...` would set no property at all.
  const etags = new Map<string, string>();
  const missing: string[] = [];
  for (const key of webhookKeys) {
    const record = found.get(key);
    if (record === undefined) {
      missing.push(key);
      continue;
    }
    etags.set(key, record.etag);
    parts.push(Buffer.from(`${parts.length > 1 ? ',' : ''}${JSON.stringify(key)}:`), record.body);
  }
  parts.push(
    Buffer.from(`},"etags":${JSON.stringify(Object.fromEntries(etags))},"missing":${JSON.stringify(missing)}}`),
  );
  return Buffer.concat(parts);
}
