import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { defineStoreScripts, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

export type ArchiveRunStatus = 'running' | 'succeeded' | 'failed';

/** One archive run as GET /admin/archive/runs shows it. */
export interface ArchiveRun {
  runId: string;
  status: ArchiveRunStatus;
  /** 'rekey': the run the re-key job starts so that the journal is drained before it re-keys the archive. */
  trigger: 'schedule' | 'manual' | 'rekey';
  startedAt: string;
  finishedAt: string | null;
  recordsArchived: number;
  policiesArchived: number;
  error?: string;
}

/** Runs kept for GET /admin/archive/runs; older records are dropped as new runs start. */
const RUNS_KEPT = 100;

/**
 * The archive's own state, in Redis rather than MongoDB so that it is shared by every instance and stays
 * readable while MongoDB is down: the lock that lets one run at a time, and the run records.
 */
@Injectable()
export class ArchiveStateStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {
    defineStoreScripts(redis);
  }

  /** Takes the lock for `owner`, or renews it when `owner` holds it already. False when another owner holds it. */
  async holdLock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.acquireLock(this.keys.archiveLock(), owner, String(ttlMs)).catch(redisUnavailable)) === 1;
  }

  async releaseLock(owner: string): Promise<void> {
    await this.redis.releaseLock(this.keys.archiveLock(), owner);
  }

  async saveRun(run: ArchiveRun): Promise<void> {
    await Promise.all([
      this.redis.set(this.keys.archiveRun(run.runId), JSON.stringify(run)),
      this.redis.zadd(this.keys.archiveRuns(), Date.parse(run.startedAt), run.runId),
    ]).catch(redisUnavailable);
  }

  async getRun(runId: string): Promise<ArchiveRun | null> {
    const raw = await this.redis.get(this.keys.archiveRun(runId)).catch(redisUnavailable);
    return raw === null ? null : (JSON.parse(raw) as ArchiveRun);
  }

  /** Newest first. */
  async listRuns(limit = RUNS_KEPT): Promise<ArchiveRun[]> {
    const ids = await this.redis.zrevrange(this.keys.archiveRuns(), 0, limit - 1).catch(redisUnavailable);
    const runs = await Promise.all(ids.map((id) => this.getRun(id)));
    return runs.filter((run): run is ArchiveRun => run !== null);
  }

  /** Drops the records of all but the newest RUNS_KEPT runs. */
  async pruneRuns(): Promise<void> {
    const old = await this.redis.zrange(this.keys.archiveRuns(), 0, -(RUNS_KEPT + 1));
    if (old.length === 0) return;
    await Promise.all([
      this.redis.zrem(this.keys.archiveRuns(), ...old),
      ...old.map((id) => this.redis.del(this.keys.archiveRun(id))),
    ]);
  }
}
