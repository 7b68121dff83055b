import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { defineStoreScripts, execTransaction, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

export type JobStatus = 'running' | 'succeeded' | 'failed';

/** One admin job. `params` is what its handler needs to start again from nothing after a crash. */
export interface JobRecord {
  jobId: string;
  kind: string;
  status: JobStatus;
  progress: Record<string, number>;
  /** ISO 8601. */
  startedAt: string;
  finishedAt: string | null;
  error?: string;
  params: Record<string, unknown>;
}

/** Finished jobs kept for GET /admin/jobs; older ones are dropped as new jobs start. Running jobs are never dropped. */
const FINISHED_JOBS_KEPT = 200;

/** Admin jobs in Redis, shared by every instance (one hash tag: a job and its place in the index stay together). */
@Injectable()
export class JobStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {
    defineStoreScripts(redis);
  }

  /** Records a new job with its work list (kept apart from the record, which is read often and may be large). */
  async create(job: JobRecord, plan: string[] = []): Promise<void> {
    const transaction = this.redis
      .multi()
      .set(this.keys.job(job.jobId), JSON.stringify(job))
      .zadd(this.keys.jobIndex(), Date.parse(job.startedAt), job.jobId)
      .hset(this.keys.runningJobs(), job.jobId, job.kind);
    for (let start = 0; start < plan.length; start += 1000) {
      transaction.rpush(this.keys.jobPlan(job.jobId), ...plan.slice(start, start + 1000));
    }
    await execTransaction(transaction).catch(redisUnavailable);
    await this.prune().catch(redisUnavailable);
  }

  /**
   * Records a new job (without a work list) unless a job of one of the `excluded` kinds is running, in one step
   * (create-job.lua). Returns the running job that excluded it, or null when the job was recorded.
   */
  async createExclusive(job: JobRecord, excluded: string[]): Promise<{ jobId: string; kind: string } | null> {
    const [blockerId, blockerKind] = await this.redis
      .createJob(
        this.keys.job(job.jobId),
        this.keys.jobIndex(),
        this.keys.runningJobs(),
        job.jobId,
        JSON.stringify(job),
        String(Date.parse(job.startedAt)),
        job.kind,
        this.keys.job(''),
        ...excluded,
      )
      .catch(redisUnavailable);
    if (blockerId !== undefined) return { jobId: blockerId, kind: blockerKind };
    await this.prune().catch(redisUnavailable);
    return null;
  }

  async plan(jobId: string): Promise<string[]> {
    return this.redis.lrange(this.keys.jobPlan(jobId), 0, -1).catch(redisUnavailable);
  }

  /** Records items of a job's plan as done, so that a resumed job never does them again. */
  async markDone(jobId: string, items: string[]): Promise<void> {
    if (items.length > 0) await this.redis.sadd(this.keys.jobDone(jobId), ...items).catch(redisUnavailable);
  }

  /** The items of `items` the job has done. */
  async done(jobId: string, items: string[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const flags = await this.redis.smismember(this.keys.jobDone(jobId), ...items).catch(redisUnavailable);
    return new Set(items.filter((_, index) => flags[index] === 1));
  }

  /** Saves a job's progress; a finished job leaves the running set in the same transaction. */
  async save(job: JobRecord): Promise<void> {
    const transaction = this.redis.multi().set(this.keys.job(job.jobId), JSON.stringify(job), 'XX');
    if (job.status !== 'running') transaction.hdel(this.keys.runningJobs(), job.jobId);
    await execTransaction(transaction).catch(redisUnavailable);
  }

  async get(jobId: string): Promise<JobRecord | null> {
    const raw = await this.redis.get(this.keys.job(jobId)).catch(redisUnavailable);
    return raw === null ? null : (JSON.parse(raw) as JobRecord);
  }

  /** Newest first. */
  async list(limit: number): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.keys.jobIndex(), 0, limit - 1).catch(redisUnavailable);
    return this.load(ids);
  }

  /**
   * Every job still running, oldest first: the ones an instance may have to take over. Read from the running set,
   * not the index, because every admin and scheduler process asks every few seconds and the index keeps up to
   * FINISHED_JOBS_KEPT finished jobs.
   */
  async running(): Promise<JobRecord[]> {
    const ids = await this.redis.hkeys(this.keys.runningJobs()).catch(redisUnavailable);
    return (await this.load(ids))
      .filter((job) => job.status === 'running')
      .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  }

  private async load(ids: string[]): Promise<JobRecord[]> {
    if (ids.length === 0) return [];
    const raw = await this.redis.mget(...ids.map((id) => this.keys.job(id))).catch(redisUnavailable);
    return raw.flatMap((text) => (text === null ? [] : [JSON.parse(text) as JobRecord]));
  }

  private async prune(): Promise<void> {
    const ids = await this.redis.zrevrange(this.keys.jobIndex(), FINISHED_JOBS_KEPT, -1);
    const finished = (await this.load(ids)).filter((job) => job.status !== 'running').map((job) => job.jobId);
    if (finished.length === 0) return;
    await execTransaction(
      this.redis
        .multi()
        .zrem(this.keys.jobIndex(), ...finished)
        .del(...finished.flatMap((id) => [this.keys.job(id), this.keys.jobPlan(id), this.keys.jobDone(id)])),
    );
  }
}
