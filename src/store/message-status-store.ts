import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyLayout } from './key-layout';
import { RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** What the worker decided about one message, as GET /v1/records/:messageId answers it. */
export interface MessageStatus {
  messageId: string;
  accountId: string;
  flowId: string;
  status: 'applied' | 'dead-lettered';
  /** ISO 8601. */
  decidedAt: string;
  keys: { applied: number; stale: number; foreign: number };
  errorCode?: string;
  errorMessage?: string;
}

/**
 * Message statuses, one string per message that expires after STATUS_TTL_SECONDS. The worker saves the statuses of
 * a batch together (one auto-pipelined round trip), after the data and before the messages leave SQS.
 */
@Injectable()
export class MessageStatusStore {
  private readonly ttlSeconds: number;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.ttlSeconds = config.statusTtlSeconds;
  }

  async save(statuses: MessageStatus[]): Promise<void> {
    await Promise.all(
      statuses.map((status) =>
        this.redis.set(this.keys.messageStatus(status.messageId), JSON.stringify(status), 'EX', this.ttlSeconds),
      ),
    ).catch(redisUnavailable);
  }

  async get(messageId: string): Promise<MessageStatus | null> {
    const raw = await this.redis.get(this.keys.messageStatus(messageId)).catch(redisUnavailable);
    return raw === null ? null : (JSON.parse(raw) as MessageStatus);
  }
}
