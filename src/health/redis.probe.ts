import { Injectable } from '@nestjs/common';
import { RedisStatus } from '../store/redis-status';
import { DependencyProbe, ReadinessProbe } from './dependency-probe';

@Injectable()
@ReadinessProbe()
export class RedisProbe implements DependencyProbe {
  readonly name = 'redis';
  readonly required = true;

  constructor(private readonly redis: RedisStatus) {}

  check(timeoutMs: number): Promise<void> {
    return this.redis.ping(timeoutMs);
  }
}
