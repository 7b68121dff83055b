import { Injectable } from '@nestjs/common';
import { RedisStatus } from '../store/redis-status';
import { DegradedDetails, DependencyProbe, ProbeDownError, ReadinessProbe } from './dependency-probe';

/**
 * Redis answers PING. On a cluster, also whether every master answers and says the cluster is ok: during a failover
 * PING may reach a healthy node while one master is down, so the check shows `degraded` with the masters in trouble
 * (readiness stays as PING says: reads of the other masters' keys go on).
 */
@Injectable()
@ReadinessProbe()
export class RedisProbe implements DependencyProbe {
  readonly name = 'redis';
  readonly required = true;

  constructor(private readonly redis: RedisStatus) {}

  async check(timeoutMs: number): Promise<void | DegradedDetails> {
    await this.redis.ping(timeoutMs);
    // A configuration error, not an outage: said in the answer (it names no host, port or credential).
    const misconfiguration = this.redis.misconfiguration();
    if (misconfiguration !== null) throw new ProbeDownError(misconfiguration, { reason: misconfiguration });
    const trouble = await this.redis.clusterTrouble(timeoutMs / 2);
    if (trouble === null) return;
    return {
      degraded: true,
      message: `${trouble.mastersOk} of ${trouble.mastersKnown} cluster masters answer cluster_state:ok`,
      ...trouble,
    };
  }
}
