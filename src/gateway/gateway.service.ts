import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiException } from '../common/api-exception';
import { Principal } from '../common/api-key.guard';
import { JsonDocument } from '../common/json-body';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { deduplicationId, messageGroupId, toQueueBody } from '../message/queue-body';
import { validateRecordMessage } from '../message/record-message.validation';
import { MessageRefusedError, QueuedMessage, RecordQueue } from '../queue/record-queue';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;
/** Seconds a producer is asked to wait when the queue cannot be reached. */
const RETRY_AFTER_SECONDS = 5;

@Injectable()
export class GatewayService {
  private readonly logger = new Logger(GatewayService.name);

  constructor(
    private readonly queue: RecordQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Checks a producer's message in the order the contract sets (body, then account) and puts it on the FIFO queue, with
   * `data` as the body's text has it (see toQueueBody).
   */
  async submit(principal: Principal, body: JsonDocument, idempotencyKey: string | undefined): Promise<QueuedMessage> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new ApiException(400, 'Idempotency-Key must be 1 to 128 printable ASCII characters without whitespace');
    }
    const check = validateRecordMessage(body);
    if (!check.valid) throw new ApiException(400, 'The message is invalid', { details: check.problems });
    const message = check.message;
    if (message.accountId !== principal.accountId) {
      throw new ApiException(403, `This x-api-key may not write for account ${message.accountId}`);
    }
    const queueBody = toQueueBody(message);
    if (Buffer.byteLength(queueBody) > this.config.maxMessageBytes) {
      throw new ApiException(413, `The message is larger than ${this.config.maxMessageBytes} bytes`);
    }
    try {
      const groupId = messageGroupId(message);
      const dedupId = idempotencyKey === undefined ? randomUUID() : deduplicationId(groupId, idempotencyKey);
      return await this.queue.send(queueBody, groupId, dedupId);
    } catch (error) {
      if (error instanceof MessageRefusedError)
        throw new ApiException(400, `SQS refused the message: ${error.message}`);
      this.logger.warn(`ingest queue unavailable: ${(error as Error).message}`);
      throw new ApiException(503, 'The ingest queue cannot be reached; retry later', {
        headers: { 'retry-after': String(RETRY_AFTER_SECONDS) },
      });
    }
  }
}
