import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** Outlives its minute a little, so that instances whose clocks differ slightly still count in the same key. */
const COUNTER_TTL_SECONDS = 90;

/**
 * Failed webhook-key reads per client address and minute, counted in Redis so that every instance sees the same
 * number (READ_MISS_LIMIT_PER_MINUTE). One counter key per address and minute, expiring on its own.
 */
@Injectable()
export class ReadMissCounter {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  /** Adds `misses` to the address's count of `minute` (Unix minutes) and answers the count. */
  async add(address: string, minute: number, misses: number): Promise<number> {
    const key = this.keys.readMisses(minute, address);
    // Sent in the same tick, so one round trip (auto-pipelining); the key is one slot on a cluster.
    const [count] = await Promise.all([
      this.redis.incrby(key, misses),
      this.redis.expire(key, COUNTER_TTL_SECONDS),
    ]).catch(redisUnavailable);
    return count;
  }
}
