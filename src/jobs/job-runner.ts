import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { MetricsService } from '../metrics/metrics.service';
import { JobRecord, JobStore } from '../store/job-store';
import { LeaseStore } from '../store/lease-store';

/** What a job's handler gets besides its record. */
export interface JobContext {
  /** Saves the job's progress (shown by GET /admin/jobs/:jobId). */
  progress(progress: Record<string, number>): Promise<void>;
  /** Aborted when this instance shuts down or loses the job's lease: the handler stops, another instance resumes. */
  signal: AbortSignal;
}

/**
 * One kind of job. `run` must be resumable: after a crash anywhere, another instance calls it again with the same
 * record (params and last saved progress), and it finishes the work without losing or repeating any effect.
 */
export interface JobHandler {
  readonly kind: string;
  run(job: JobRecord, context: JobContext): Promise<void>;
}

/** The lease a running job is held under; its holder renews it well before it ends. */
const LEASE_MS = 15_000;
const RENEW_MS = 5_000;
/** How often an instance looks for running jobs nobody holds (their instance died) and takes them over. */
const TAKEOVER_MS = 5_000;
/** Shutdown waits this long for handlers to stop at their signal before the leases are given up. */
const STOP_GRACE_MS = 3_000;

/**
 * Runs admin jobs: one mechanism for every long admin operation. A job is a record in Redis (JobStore) and a lease
 * (LeaseStore): the instance that holds the lease runs it and renews the lease; when that instance dies, the lease
 * runs out and any instance with the admin role takes the job over from its record.
 */
@Injectable()
export class JobRunner implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(JobRunner.name);
  private readonly owner = randomUUID();
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private takeoverTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly jobs: JobStore,
    private readonly leases: LeaseStore,
    private readonly metrics: MetricsService,
  ) {}

  register(handler: JobHandler): void {
    this.handlers.set(handler.kind, handler);
  }

  /** Records a new job (with its work list, if it has one) and starts it on this instance. */
  async start(
    kind: string,
    params: Record<string, unknown>,
    progress: Record<string, number>,
    plan: string[] = [],
  ): Promise<JobRecord> {
    const job = newJob(kind, params, progress);
    await this.jobs.create(job, plan);
    await this.tryRun(job);
    return job;
  }

  /**
   * Records and starts a new job unless a job of one of the `excluded` kinds is running (checked and recorded in
   * one step). Returns the running job that excluded it instead.
   */
  async startExclusive(
    kind: string,
    params: Record<string, unknown>,
    progress: Record<string, number>,
    excluded: string[],
  ): Promise<{ started: JobRecord } | { excludedBy: { jobId: string; kind: string } }> {
    const job = newJob(kind, params, progress);
    const excludedBy = await this.jobs.createExclusive(job, excluded);
    if (excludedBy !== null) return { excludedBy };
    await this.tryRun(job);
    return { started: job };
  }

  onApplicationBootstrap(): void {
    this.takeoverTimer = setInterval(() => void this.takeOver(), TAKEOVER_MS);
    this.takeoverTimer.unref();
    void this.takeOver();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.takeoverTimer !== null) clearInterval(this.takeoverTimer);
    const running = [...this.running.values()];
    for (const { abort } of running) abort.abort();
    await Promise.race([
      Promise.allSettled(running.map(({ done }) => done)),
      new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref()),
    ]);
  }

  /** Takes over every running job whose lease is free. */
  private async takeOver(): Promise<void> {
    try {
      for (const job of await this.jobs.running()) {
        if (!this.running.has(job.jobId)) await this.tryRun(job);
      }
    } catch (error) {
      this.logger.warn(`could not look for jobs to take over: ${(error as Error).message}`);
    }
  }

  private async tryRun(job: JobRecord): Promise<void> {
    const handler = this.handlers.get(job.kind);
    if (handler === undefined || this.running.has(job.jobId)) return;
    if (!(await this.leases.hold(leaseOf(job), this.owner, LEASE_MS))) return;
    const abort = new AbortController();
    const done = this.runHeld(job, handler, abort).finally(() => this.running.delete(job.jobId));
    this.running.set(job.jobId, { abort, done });
  }

  private async runHeld(job: JobRecord, handler: JobHandler, abort: AbortController): Promise<void> {
    let renewedAt = Date.now();
    const renewal = setInterval(() => {
      this.leases.hold(leaseOf(job), this.owner, LEASE_MS).then(
        (held) => {
          if (held) renewedAt = Date.now();
          else abort.abort(new Error('the job lease was taken by another instance'));
        },
        (error: Error) => {
          this.logger.warn(`could not renew the lease of job ${job.jobId}: ${error.message}`);
          // Unrenewed for most of its lifetime, the lease may run out: another instance may take the job over.
          if (Date.now() - renewedAt > LEASE_MS - RENEW_MS)
            abort.abort(new Error('the job lease could not be renewed'));
        },
      );
    }, RENEW_MS);
    const context: JobContext = {
      signal: abort.signal,
      progress: async (progress) => {
        // A holder that may have lost its lease writes nothing: the record belongs to whoever took the job over.
        abort.signal.throwIfAborted();
        job.progress = progress;
        await this.jobs.save(job);
      },
    };
    try {
      this.logger.log(`job ${job.jobId} (${job.kind}) running`);
      await handler.run(job, context);
      if (abort.signal.aborted) return;
      await this.finish(job, 'succeeded');
    } catch (error) {
      // Stopped for shutdown or a lost lease: the job stays running for another instance to resume.
      if (abort.signal.aborted) return;
      if (error instanceof DependencyUnavailableError) {
        // Redis or SQS away for now: the job stays running, and the next takeover round resumes it.
        this.logger.warn(`job ${job.jobId} (${job.kind}) paused, resumed in a few seconds: ${error.message}`);
        return;
      }
      await this.finish(job, 'failed', (error as Error).message);
    } finally {
      clearInterval(renewal);
      await this.leases.release(leaseOf(job), this.owner).catch(() => undefined);
    }
  }

  private async finish(job: JobRecord, status: 'succeeded' | 'failed', error?: string): Promise<void> {
    job.status = status;
    job.finishedAt = new Date().toISOString();
    if (error !== undefined) job.error = error;
    this.metrics.jobs.inc({ kind: job.kind, status });
    const line = `job ${job.jobId} (${job.kind}) ${status}: ${JSON.stringify(job.progress)}`;
    if (status === 'failed') this.logger.error(`${line}: ${error}`);
    else this.logger.log(line);
    try {
      await this.jobs.save(job);
    } catch (saveError) {
      // The record stays `running`: another instance (or this one) takes the job over and finishes it again.
      this.logger.error(`could not record the end of job ${job.jobId}: ${(saveError as Error).message}`);
    }
  }
}

function leaseOf(job: JobRecord): string {
  return `job:${job.jobId}`;
}

function newJob(kind: string, params: Record<string, unknown>, progress: Record<string, number>): JobRecord {
  return {
    jobId: randomUUID(),
    kind,
    status: 'running',
    progress,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    params,
  };
}
