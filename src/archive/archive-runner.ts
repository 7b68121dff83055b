import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { ArchiveRun, ArchiveStateStore } from '../store/archive-state-store';
import { AuditStore } from '../store/audit-store';
import { JournalStore } from '../store/journal-store';
import { RecordStore } from '../store/record-store';
import { RedisStatus } from '../store/redis-status';
import { TtlPolicyStore } from '../store/ttl-policy-store';
import { journalWrites, policyId, policyWrite, snapshotWrites } from './archive-documents';
import { ArchiveRepository } from './archive.repository';
import { BatchLimits, fillBatches, mapBatches, readAhead } from './read-ahead';

/** The characters of a record's stored document (0 for a journaled delete): what a batch's budget counts. */
function bodyChars(record: { body: string | null }): number {
  return record.body?.length ?? 0;
}

/**
 * How many records a run reads from Redis at once: as many as fit a batch's budget of body characters when each is
 * as large as a record can be (MAX_MESSAGE_BYTES of data, plus its ids and times), so that a read never holds more
 * than a batch may, whatever the data: 15 at the default 256 KiB, 3 at 1 MiB, 500 from about 7 KiB down. What a
 * record holds besides its body is bounded by the records a batch holds at most.
 */
export function recordsReadAtOnce(maxMessageBytes: number, limits: BatchLimits): number {
  const largest = maxMessageBytes + BODY_OVERHEAD_CHARS;
  return Math.max(1, Math.min(limits.items, Math.floor(limits.weight / largest)));
}

/** The lock expires this long after its last renewal: a crashed instance frees it quickly. */
const LOCK_TTL_MS = 30_000;
const LOCK_RENEWAL_MS = 10_000;
/** The most records (journal entries, datums) per MongoDB bulk write, and keys per SCAN step. */
const BATCH_RECORDS = 500;
/**
 * The most characters of stored documents (bodies) per MongoDB bulk write: a batch closes at the record that reaches
 * it. With the read ahead, a run holds about three such batches at once (the one being written, its BSON, the next
 * one being read), whatever the records' size: see docs/design.md, "Memory of a run".
 */
const BATCH_BODY_CHARS = 4 * 1_048_576;
/** What one MongoDB bulk write of a run carries at most. */
export const ARCHIVE_BATCH_LIMITS: BatchLimits = Object.freeze({ items: BATCH_RECORDS, weight: BATCH_BODY_CHARS });
/** Room for what a stored document holds besides the message's data: account and flow ids, version, times. */
const BODY_OVERHEAD_CHARS = 1024;
/** How often a run saves its counts while it goes. */
const PROGRESS_INTERVAL_MS = 1000;
/**
 * How long a run tries to record its end while Redis refuses (then the next run marks it abandoned), and how often:
 * from 250 ms, doubling up to 5 s.
 */
const END_RECORD_PATIENCE_MS = 120_000;
const END_RECORD_FIRST_RETRY_MS = 250;
const END_RECORD_MAX_RETRY_MS = 5_000;
/** How long start-up waits in the background for Redis before giving up on reading when the archive last succeeded. */
const START_UP_REDIS_WAIT_MS = 10_000;

export class ArchiveBusyError extends Error {
  constructor() {
    super('An archive run is in progress');
  }
}

class RunAborted extends Error {}

/**
 * Copies Redis to MongoDB. One run at a time across every instance (a Redis lock the running instance renews;
 * losing it stops the run before its next write). A run drains the write journal (so data that expired, was
 * overwritten or was deleted since the last run is archived too), then copies every live datum (SCAN in batches,
 * pipelined reads, unordered bulk upserts: memory stays flat), every TTL policy, and prunes what ended longer ago
 * than ARCHIVE_RETENTION_DAYS. Every write is an upsert keyed by datum id, and journal entries are dropped only
 * once MongoDB has them, so a run that dies half way is simply completed by the next one.
 */
@Injectable()
export class ArchiveRunner implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ArchiveRunner.name);
  private current: { runId: string; done: Promise<void>; abort: (reason: string) => void } | null = null;
  /** Set once the application shuts down: a run no longer waits for Redis to record its end. */
  private stopping = false;
  private progressSavedAt = 0;
  /** How many records a run reads from Redis at once: see recordsReadAtOnce. */
  private readonly readAtOnce: number;

  constructor(
    private readonly archive: ArchiveRepository,
    private readonly state: ArchiveStateStore,
    private readonly journal: JournalStore,
    private readonly records: RecordStore,
    private readonly policies: TtlPolicyStore,
    private readonly audit: AuditStore,
    private readonly metrics: MetricsService,
    private readonly redis: RedisStatus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.readAtOnce = recordsReadAtOnce(config.maxMessageBytes, ARCHIVE_BATCH_LIMITS);
  }

  /**
   * Shows when the archive last succeeded from the newest succeeded run record, so that an instance that restarted
   * since, or whose replicas ran the last runs (they hold the lock), still reports it to the "archive late" alert.
   * In the background: start-up does not wait for Redis. When Redis is not ready within START_UP_REDIS_WAIT_MS or the
   * read fails, the gauge stays 0 until a run succeeds on this instance.
   */
  onApplicationBootstrap(): void {
    void this.showLastSuccessFromRecords().catch((error: unknown) =>
      this.logger.warn(`could not read when the archive last succeeded: ${String(error)}`),
    );
  }

  private async showLastSuccessFromRecords(): Promise<void> {
    if (!(await this.redis.waitUntilReady(START_UP_REDIS_WAIT_MS))) return;
    const newestSuccess = (await this.state.listRuns()).find((run) => run.status === 'succeeded');
    if (newestSuccess?.finishedAt) this.metrics.showArchiveSucceeded(new Date(newestSuccess.finishedAt));
  }

  /** Takes the lock and starts a run in the background; throws ArchiveBusyError when one is running anywhere. */
  async start(trigger: ArchiveRun['trigger']): Promise<ArchiveRun> {
    const runId = randomUUID();
    // A start that fails (Redis failing over, say) lets go of the lock if it took it: otherwise every start would
    // answer 409 until it expired, with no run going. Releasing only ever deletes a lock this run id holds.
    try {
      if (!(await this.state.holdLock(runId, LOCK_TTL_MS))) throw new ArchiveBusyError();
      return await this.begin(runId, trigger);
    } catch (error) {
      await this.state.releaseLock(runId).catch(() => undefined);
      throw error;
    }
  }

  private async begin(runId: string, trigger: ArchiveRun['trigger']): Promise<ArchiveRun> {
    await this.failAbandonedRuns(runId);
    const run: ArchiveRun = {
      runId,
      status: 'running',
      trigger,
      startedAt: new Date().toISOString(),
      finishedAt: null,
      recordsArchived: 0,
      policiesArchived: 0,
    };
    await this.state.saveRun(run);
    let abortReason: string | null = null;
    const done = this.execute(run, () => abortReason).finally(() => {
      this.current = null;
    });
    this.current = { runId, done, abort: (reason) => (abortReason = reason) };
    this.logger.log(`archive run ${runId} started (${trigger})`);
    return run;
  }

  private async execute(run: ArchiveRun, aborted: () => string | null): Promise<void> {
    const stopTimer = this.metrics.archiveDuration.startTimer();
    let lockLost = false;
    const renewal = setInterval(() => {
      this.state.holdLock(run.runId, LOCK_TTL_MS).then(
        (held) => (lockLost ||= !held),
        () => (lockLost = true),
      );
    }, LOCK_RENEWAL_MS);
    const checkpoint = () => {
      const reason = lockLost ? 'lost the archive lock (another instance took over)' : aborted();
      if (reason) throw new RunAborted(reason);
    };
    try {
      await this.archive.prepare();
      await this.drainJournal(run, checkpoint);
      await this.copySnapshot(run, checkpoint);
      await this.copyPolicies(run, checkpoint);
      await this.copyAudit(run, checkpoint);
      if (this.config.archive.retentionDays > 0) {
        await this.archive.prune(new Date(Date.now() - this.config.archive.retentionDays * 86_400_000));
      }
      await this.finish(run, 'succeeded');
    } catch (error) {
      await this.finish(run, 'failed', error instanceof Error ? error.message : String(error));
    } finally {
      clearInterval(renewal);
      stopTimer({ status: run.status });
      await this.state.releaseLock(run.runId).catch(() => undefined);
    }
  }

  /**
   * Copies journal entries written before the run started, shard after shard, oldest first, dropping each batch once
   * archived. The order between shards does not matter: the archive's writes give the same documents in any order.
   * The next batch is read (and made into writes) while this one is written: it is acknowledged only after.
   */
  private async drainJournal(run: ArchiveRun, checkpoint: () => void): Promise<void> {
    const started = Date.now();
    let drained = 0;
    const drain = await this.journal.startDrain();
    for (const { shard, until } of drain.shards) {
      if (until === null) continue;
      const entries = this.journal.batches(shard, this.readAtOnce, until);
      const batches = mapBatches(fillBatches(entries, bodyChars, ARCHIVE_BATCH_LIMITS), (entries) => ({
        entries,
        writes: journalWrites(entries, new Date()),
      }));
      for await (const { entries, writes } of readAhead(batches)) {
        checkpoint();
        run.recordsArchived += await this.archive.writeRecords(writes.datums);
        run.recordsArchived += await this.archive.writeRecords(writes.endings);
        await this.journal.acknowledge(entries);
        drained += entries.length;
        await this.progress(run);
      }
    }
    await this.journal.markDrained(drain);
    // Read by npm run bench:archive, which reports the drain and the snapshot apart.
    this.logger.log(`archive run ${run.runId}: journal drained: ${drained} entries in ${Date.now() - started} ms`);
  }

  /** Copies every live datum; the next batch is read from Redis while this one is written. */
  private async copySnapshot(run: ArchiveRun, checkpoint: () => void): Promise<void> {
    const datums = fillBatches(
      this.records.scanDatums(BATCH_RECORDS, this.readAtOnce),
      bodyChars,
      ARCHIVE_BATCH_LIMITS,
    );
    const batches = mapBatches(datums, (datums) => snapshotWrites(datums, new Date()));
    for await (const writes of readAhead(batches)) {
      checkpoint();
      run.recordsArchived += await this.archive.writeRecords(writes);
      await this.progress(run);
    }
  }

  private async copyPolicies(run: ArchiveRun, checkpoint: () => void): Promise<void> {
    const present = new Set<string>();
    for await (const policies of this.policies.scanAll()) {
      checkpoint();
      for (const policy of policies) present.add(policyId(policy.accountId, policy.flowId));
      run.policiesArchived += await this.archive.writePolicies(policies.map(policyWrite));
    }
    await this.archive.markPoliciesRemoved(present, new Date());
  }

  /** Copies the audit of admin changes (all of it that Redis keeps; entries archived before are left alone). */
  private async copyAudit(run: ArchiveRun, checkpoint: () => void): Promise<void> {
    let archived = 0;
    for await (const entries of this.audit.scan(BATCH_RECORDS)) {
      checkpoint();
      archived += await this.archive.writeAuditEntries(entries);
    }
    this.logger.log(`archive run ${run.runId}: ${archived} new audit entries archived`);
  }

  /**
   * Saves the counts so far, so GET /admin/archive/runs/:id shows a long run moving: at most every
   * PROGRESS_INTERVAL_MS, not after every batch (a Redis round trip each, in the way of the next write).
   */
  private async progress(run: ArchiveRun): Promise<void> {
    const now = Date.now();
    if (now - this.progressSavedAt < PROGRESS_INTERVAL_MS) return;
    this.progressSavedAt = now;
    await this.state.saveRun(run);
  }

  private async finish(run: ArchiveRun, status: 'succeeded' | 'failed', error?: string): Promise<void> {
    const finishedAt = new Date();
    run.status = status;
    run.finishedAt = finishedAt.toISOString();
    if (error !== undefined) run.error = error;
    this.metrics.archiveRuns.inc({ status });
    this.metrics.archiveRecords.inc(run.recordsArchived);
    if (status === 'succeeded') this.metrics.showArchiveSucceeded(finishedAt);
    if (status === 'failed') this.logger.error(`archive run ${run.runId} failed: ${error}`);
    else
      this.logger.log(
        `archive run ${run.runId} succeeded: ${run.recordsArchived} records, ${run.policiesArchived} policies`,
      );
    await this.recordEnd(run);
    await this.state.pruneRuns().catch(() => undefined);
  }

  /**
   * Saves the run's end, again and again while Redis refuses it (a failover's CLUSTERDOWN lasts seconds): a record
   * left `running` would show the run as going on until the next run starts and marks it abandoned.
   */
  private async recordEnd(run: ArchiveRun): Promise<void> {
    const startedAt = Date.now();
    for (let delay = END_RECORD_FIRST_RETRY_MS; ; delay = Math.min(delay * 2, END_RECORD_MAX_RETRY_MS)) {
      try {
        await this.state.saveRun(run);
        return;
      } catch (error) {
        // Shutting down, the process does not wait for Redis: the next run marks this one abandoned.
        if (this.stopping || Date.now() - startedAt > END_RECORD_PATIENCE_MS) {
          this.logger.error(`could not record the end of archive run ${run.runId}: ${String(error)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
      }
    }
  }

  /** A run still marked running while someone else now holds the lock died with its instance. */
  private async failAbandonedRuns(currentRunId: string): Promise<void> {
    for (const run of await this.state.listRuns()) {
      if (run.status === 'running' && run.runId !== currentRunId && run.runId !== this.current?.runId) {
        await this.state.saveRun({
          ...run,
          status: 'failed',
          finishedAt: new Date().toISOString(),
          error: 'interrupted: its instance stopped before finishing (the next run completed the copy)',
        });
      }
    }
  }

  /** Stops a run in progress at its next batch and waits for it to record how it ended. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    const current = this.current;
    if (current === null) return;
    current.abort('interrupted by shutdown');
    await Promise.race([current.done, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
}
