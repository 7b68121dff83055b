import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { defineStoreScripts, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/**
 * Named leases shared by every instance: held by one owner token at a time, with an expiry the holder renews, so a
 * holder that dies gives its work up to another instance once the lease runs out.
 */
@Injectable()
export class LeaseStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {
    defineStoreScripts(redis);
  }

  /** Takes the lease for `owner`, or renews it when `owner` holds it already. False when another owner holds it. */
  async hold(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.acquireLock(this.keys.lease(name), owner, String(ttlMs)).catch(redisUnavailable)) === 1;
  }

  /** Gives the lease up when `owner` still holds it. */
  async release(name: string, owner: string): Promise<void> {
    await this.redis.releaseLock(this.keys.lease(name), owner).catch(redisUnavailable);
  }
}
