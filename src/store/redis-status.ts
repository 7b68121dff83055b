import { InjectRedis } from '@nestjs-modules/ioredis';
import { Cluster } from 'ioredis';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { withDeadline } from '../common/deadline';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyLayout } from './key-layout';
import { keysOnEveryMaster, RedisClient, scanTargets } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** Masters of a cluster that do not answer, or answer that the cluster is failing (`cluster_state:fail`). */
export interface ClusterTrouble {
  mastersKnown: number;
  mastersOk: number;
  /** `host:port state` of each of the others. */
  masters: string;
}

/** The share of `maxmemory` that must be free before the worker writes again after Redis refused for memory. */
const MEMORY_HEADROOM = 0.05;

/** How the rest of the service learns whether Redis is reachable, without touching the client itself. */
@Injectable()
export class RedisStatus implements OnApplicationShutdown {
  private readonly logger = new Logger(RedisStatus.name);
  private readonly waitReplicas: number;
  /**
   * REDIS_URL names a node of a Redis Cluster (`cluster_enabled:1`): a single-server client there gets MOVED for
   * most keys, for ever. Checked at each connect; the readiness probe and the worker's write probe fail with it.
   */
  private misconfigured: string | null = null;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.waitReplicas = config.redis.waitReplicas;
    // Without a listener ioredis writes every connection error to the console itself, once per reconnect attempt.
    // The readiness probe reports Redis down (at warn, once per change); the errors themselves go to debug.
    redis.on('error', (error: Error) => this.logger.debug(`Redis connection: ${error.message}`));
    if (!(redis instanceof Cluster)) {
      redis.on('ready', () => void this.checkNotClusterNode());
      if (redis.status === 'ready') void this.checkNotClusterNode();
    }
  }

  private async checkNotClusterNode(): Promise<void> {
    const info = await this.redis.info('cluster').catch(() => null);
    if (info === null) return;
    const wasMisconfigured = this.misconfigured !== null;
    this.misconfigured = /^cluster_enabled:1/m.test(info)
      ? 'REDIS_URL names a node of a Redis Cluster: set REDIS_CLUSTER_NODES instead'
      : null;
    if (this.misconfigured !== null && !wasMisconfigured) this.logger.error(this.misconfigured);
  }

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

  /** Why the configuration cannot work with the Redis it reaches (names no host or port), or null. */
  misconfiguration(): string | null {
    return this.misconfigured;
  }

  /**
   * On a cluster, what an operator needs to see during a failover: null while every master the client knows answers
   * and says `cluster_state:ok` with every slot served; otherwise why not (a master not answering, the cluster failing,
   * slots without a master). Always null on a single server.
   */
  async clusterTrouble(timeoutMs: number): Promise<ClusterTrouble | null> {
    if (!(this.redis instanceof Cluster)) return null;
    const masters = scanTargets(this.redis);
    const states = await Promise.all(
      masters.map(async (node) => {
        try {
          const info = await withDeadline(node.cluster('INFO'), timeoutMs, 'CLUSTER INFO');
          return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
        } catch {
          return 'no answer';
        }
      }),
    );
    const troubled = masters.flatMap((node, index) =>
      states[index] === 'ok' ? [] : [`${node.options.host}:${node.options.port} ${states[index]}`],
    );
    if (troubled.length === 0) return null;
    return {
      mastersKnown: masters.length,
      mastersOk: masters.length - troubled.length,
      masters: troubled.join(', '),
    };
  }

  /**
   * Resolves once Redis accepts a write now; rejects with a DependencyUnavailableError naming why not (OOM, READONLY,
   * LOADING, a timeout, ...). A connection can be open and PING answer while every write is refused, so the worker
   * asks this, not isReady(), before it receives again. It asks what a message's write needs: on a cluster every
   * master must take a write (a key in one of its own slots, sent on its own connection; a master that is down or a
   * slot without one fails it), with REDIS_WAIT_REPLICAS every master must have that many replicas acknowledging
   * (after a failover the new master has none until one joins), and every master needs memory headroom. The probe
   * keys live a second and are never read.
   */
  async probeWrite(timeoutMs: number): Promise<void> {
    // Worded as a redirection, so that the worker's pause shows MOVED as its reason.
    if (this.misconfigured !== null) redisUnavailable(new Error(`MOVED ${this.misconfigured}`));
    const probeEveryMaster = async () => {
      await Promise.all(
        keysOnEveryMaster(this.redis, this.keys.writeProbe()).map(async ({ node, key }) => {
          await node.set(key, '1', 'PX', 1000);
          if (this.waitReplicas === 0) return;
          const acknowledged = await node.wait(this.waitReplicas, timeoutMs);
          if (acknowledged < this.waitReplicas) {
            // Worded as the write path words it, so that the pause keeps NOREPLICAS as its reason.
            throw new Error(
              `NOREPLICAS only ${acknowledged} of ${this.waitReplicas} replicas (REDIS_WAIT_REPLICAS) acknowledged the probe on ${node.options.host}:${node.options.port}`,
            );
          }
        }),
      );
    };
    await withDeadline(probeEveryMaster(), timeoutMs * 2, 'Redis write probe').catch(redisUnavailable);
    await withDeadline(this.requireHeadroom(), timeoutMs, 'Redis memory check').catch(redisUnavailable);
  }

  /**
   * Hysteresis for a Redis that refused writes for memory: a tiny probe write gets through whenever memory dips
   * just below `maxmemory` (client buffers draining, a key expiring), and messages received then fail again, each
   * spending a receive. So writing counts as possible again only with MEMORY_HEADROOM of `maxmemory` free on every
   * master. Rejects with an `OOM ...` error otherwise.
   */
  private async requireHeadroom(): Promise<void> {
    for (const node of scanTargets(this.redis)) {
      const info = await node.info('memory');
      const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? 0);
      const limit = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0);
      if (limit > 0 && used > limit * (1 - MEMORY_HEADROOM)) {
        // Worded as Redis words a refusal for memory, so that the pause shows OOM as its reason.
        throw new Error(
          `OOM used memory (${used} bytes) is within ${MEMORY_HEADROOM * 100} % of maxmemory (${limit}); waiting for room`,
        );
      }
    }
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
