import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { withDeadline } from '../common/deadline';
import { RedisClient } from './redis-client';

/** How the rest of the service learns whether Redis is reachable, without touching the client itself. */
@Injectable()
export class RedisStatus implements OnApplicationShutdown {
  constructor(@InjectRedis() private readonly redis: RedisClient) {}

  isReady(): boolean {
    return this.redis.status === 'ready';
  }

  /** Resolves true once the connection is ready, or false when `timeoutMs` passes first. */
  waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.isReady()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ready);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  /** PING with its own deadline, so a hung server reports as down instead of hanging the caller. */
  async ping(timeoutMs: number): Promise<void> {
    await withDeadline(this.redis.ping(), timeoutMs, 'Redis PING');
  }

  /**
   * QUIT waits for Redis to answer; when Redis is down it would wait for a reconnection that never comes, so a
   * connection that is not ready is simply closed.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.redis.status === 'end') return;
    if (!this.isReady()) {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
