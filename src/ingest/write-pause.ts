import { Injectable, Logger } from '@nestjs/common';
import { MetricsService } from '../metrics/metrics.service';
import { RedisStatus } from '../store/redis-status';
import { Failure } from './ingest-batch';
import { failureOf } from './retry-plan';

/** The first write probe after a refused write, and the longest gap between probes as the refusal goes on. */
const FIRST_PROBE_DELAY_MS = 250;
const MAX_PROBE_DELAY_MS = 2_000;
const PROBE_TIMEOUT_MS = 1_000;

/** Why the worker stopped receiving, and since when; shown in /health/ready. */
export interface PauseState {
  reason: string;
  error: string;
  since: Date;
}

/** Told when receiving must stop (Redis refuses writes) and when it may start again. */
export interface PauseListener {
  paused(state: PauseState): void;
  resumed(): void;
}

/**
 * The worker's one answer to "may we write to Redis yet?" while Redis refuses writes (OOM, READONLY, LOADING,
 * timeouts, a lost connection). The first passing failure pauses receiving (through the listener, IngestConsumer)
 * and starts one write-probe loop, with backoff; every batch holding failed messages waits on the same loop and
 * retries them once a probe write succeeds. Receiving then resumes by itself.
 */
@Injectable()
export class WritePause {
  private readonly logger = new Logger(WritePause.name);
  private state: PauseState | null = null;
  private writable: Promise<boolean> | null = null;
  private listener: PauseListener | null = null;
  private stopping = false;
  private wakeProbe: (() => void) | null = null;

  constructor(
    private readonly redis: RedisStatus,
    private readonly metrics: MetricsService,
  ) {}

  listen(listener: PauseListener): void {
    this.listener = listener;
  }

  /** Why the worker is paused, or null while it receives. */
  current(): PauseState | null {
    return this.state;
  }

  /**
   * Called by a batch whose write failed for a passing reason. Resolves true once Redis accepts a write, false
   * when the worker is shutting down first (the batch then lets go of what it holds).
   */
  untilWritable(failure: Failure): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    if (this.writable === null) {
      this.enter(failure);
      this.writable = this.probeUntilWritable();
    }
    return this.writable;
  }

  /** Shutdown: ends the probe loop; batches waiting on it let go of their messages. */
  shutdown(): void {
    this.stopping = true;
    this.wakeProbe?.();
  }

  private async probeUntilWritable(): Promise<boolean> {
    let delay = FIRST_PROBE_DELAY_MS;
    while (!(await this.sleepUnlessStopping(delay))) {
      try {
        await this.redis.probeWrite(PROBE_TIMEOUT_MS);
        this.leave();
        return true;
      } catch (error) {
        this.update(failureOf(error));
        delay = Math.min(delay * 2, MAX_PROBE_DELAY_MS);
      }
    }
    this.writable = null;
    return false;
  }

  private enter(failure: Failure): void {
    this.state = { reason: failure.passingReason ?? 'unknown', error: failure.error, since: new Date() };
    this.metrics.showIngestPaused(this.state.reason, null);
    this.logger.warn(
      `Redis refuses writes (${this.state.reason}): receiving from SQS is paused, messages in hand are held: ${failure.error}`,
    );
    this.listener?.paused(this.state);
  }

  private update(failure: Failure): void {
    if (this.state === null || failure.passingReason === null || failure.passingReason === this.state.reason) return;
    this.logger.warn(`Redis still refuses writes, now ${failure.passingReason}: ${failure.error}`);
    this.metrics.showIngestPaused(failure.passingReason, this.state.reason);
    this.state = { ...this.state, reason: failure.passingReason, error: failure.error };
  }

  private leave(): void {
    const pausedFor = Date.now() - (this.state?.since.getTime() ?? Date.now());
    this.metrics.showIngestPaused(null, this.state?.reason ?? null);
    this.logger.log(`Redis accepts writes again after ${pausedFor} ms: retrying the messages in hand, receiving again`);
    this.state = null;
    this.writable = null;
    this.listener?.resumed();
  }

  /** Waits `ms`; true when shutdown began meanwhile (or before). */
  private sleepUnlessStopping(ms: number): Promise<boolean> {
    if (this.stopping) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.stopping), ms);
      this.wakeProbe = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
  }
}
