import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type IngestOutcome = 'stored' | 'deleted' | 'stale' | 'rejected' | 'retried';
export type KeyOutcome = 'applied' | 'stale' | 'foreign';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The service's Prometheus metrics. Each application instance has its own registry, so that several instances in
 * one process (tests) do not collide.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly ingestMessages = new Counter({
    name: 'setgetapi_ingest_messages_total',
    help: 'Messages taken from the ingest queue, by outcome; rejected ones carry the dead-letter reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly ingestKeys = new Counter({
    name: 'setgetapi_ingest_keys_total',
    help: 'Webhook keys written by ingested messages: applied, stale (older version) or foreign (owned by another account)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly ingestDuration = new Histogram({
    name: 'setgetapi_ingest_apply_duration_seconds',
    help: 'Time to apply one message to Redis (TTL resolution and every key)',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly ingestLag = new Histogram({
    name: 'setgetapi_ingest_lag_seconds',
    help: 'Queue-to-store lag: from the SQS SentTimestamp to the message being applied',
    buckets: LAG_BUCKETS,
    registers: [this.registry],
  });

  readonly ingestPaused = new Gauge({
    name: 'setgetapi_ingest_paused',
    help:
      '1 while the worker has stopped receiving because Redis refuses writes, labelled with why (OOM, READONLY, ' +
      'LOADING, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, MOVED, BUSY, NOREPLICAS, timeout, unreachable); 0 once it receives ' +
      'again',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly visibilityExtensions = new Counter({
    name: 'setgetapi_ingest_visibility_extensions_total',
    help: 'Visibility timeouts of messages in hand extended while they were applied or held, by outcome (extended, refused)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly queryDuration = new Histogram({
    name: 'setgetapi_query_duration_seconds',
    help: 'Time to answer a read, by route and status',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** What setgetapi_read_cache_bytes reports; set by the query module, which owns the cache's reader. */
  private readCacheBytesOf: (() => number) | null = null;

  readonly readCacheBytes = new Gauge({
    name: 'setgetapi_read_cache_bytes',
    help: 'Bytes held by the in-process read cache (READ_CACHE_MAX_BYTES bounds it; 0 while it is off or flushed)',
    registers: [this.registry],
    collect: () => {
      if (this.readCacheBytesOf !== null) this.readCacheBytes.set(this.readCacheBytesOf());
    },
  });

  readonly queryWaiters = new Gauge({
    name: 'setgetapi_query_waiters',
    help: 'Reads held open for a change (Prefer: wait, batch-get waitSeconds) on this instance',
    registers: [this.registry],
  });

  readonly archiveRuns = new Counter({
    name: 'setgetapi_archive_runs_total',
    help: 'Archive runs this instance ran, by outcome',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly archiveLastSuccess = new Gauge({
    name: 'setgetapi_archive_last_success_timestamp_seconds',
    help:
      'Unix time at which the last archive run that succeeded finished, as far as this instance knows: read from ' +
      'the run records at start-up on instances that run the archive, then set by each run that succeeds here; ' +
      '0 when unknown',
    registers: [this.registry],
  });

  readonly archiveDuration = new Histogram({
    name: 'setgetapi_archive_run_duration_seconds',
    help: 'Duration of archive runs, by outcome',
    labelNames: ['status'] as const,
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [this.registry],
  });

  readonly archiveRecords = new Counter({
    name: 'setgetapi_archive_records_total',
    help: 'Archived records created or changed in MongoDB by this instance',
    registers: [this.registry],
  });

  readonly journalTrimmed = new Counter({
    name: 'setgetapi_archive_journal_trimmed_total',
    help: 'Journal entries dropped by ARCHIVE_JOURNAL_MAX_BYTES before an archive run copied them',
    registers: [this.registry],
  });

  readonly reconcilerRepairs = new Counter({
    name: 'setgetapi_reconciler_repairs_total',
    help:
      'What the reference reconciler repaired: unheld_attachment (a worker died between two steps of a write), ' +
      'datum_freed (a shared body no key held), dangling_record (a key pointing at a missing body: a bug)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly decisionsUnrecorded = new Counter({
    name: 'setgetapi_ingest_statuses_unrecorded_total',
    help: 'Message statuses the worker could not write (Redis refused); the data itself was stored or dead-lettered',
    registers: [this.registry],
  });

  readonly deadLetters = new Gauge({
    name: 'setgetapi_dead_letters',
    help: 'Messages in the dead-letter queue (SQS approximate count, read at every dead-letter sweep)',
    registers: [this.registry],
  });

  readonly deadLetterOldestAge = new Gauge({
    name: 'setgetapi_dead_letter_oldest_age_seconds',
    help: 'Age of the oldest dead letter in the index, 0 when there is none (read at every dead-letter sweep)',
    registers: [this.registry],
  });

  readonly jobs = new Counter({
    name: 'setgetapi_jobs_total',
    help: 'Admin jobs finished, by kind and status (succeeded, failed)',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  private archiveLastSuccessSeconds = 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // A labelled counter has no series until its first increment, and Prometheus' increase() cannot see the step
    // from nothing to 1: the first failed run would never fire an alert. Both outcomes start at 0 instead.
    for (const status of ['succeeded', 'failed'] as const) this.archiveRuns.inc({ status }, 0);
  }

  countMessage(outcome: IngestOutcome, reason = ''): void {
    this.ingestMessages.inc({ outcome, reason });
  }

  /** Shows the worker paused for `reason`, or receiving again (null) after a pause for `previous`. */
  showIngestPaused(reason: string | null, previous: string | null): void {
    if (previous !== null) this.ingestPaused.set({ reason: previous }, 0);
    if (reason !== null) this.ingestPaused.set({ reason }, 1);
  }

  /** Shows an archive success at `finishedAt`; an older one (the start-up read, racing a run) never moves it back. */
  showArchiveSucceeded(finishedAt: Date): void {
    const seconds = finishedAt.getTime() / 1000;
    if (!Number.isFinite(seconds) || seconds <= this.archiveLastSuccessSeconds) return;
    this.archiveLastSuccessSeconds = seconds;
    this.archiveLastSuccess.set(seconds);
  }

  /** Makes setgetapi_read_cache_bytes report `bytes()` at each scrape. */
  reportReadCacheBytes(bytes: () => number): void {
    this.readCacheBytesOf = bytes;
  }

  countKeys(outcome: KeyOutcome, count: number): void {
    if (count > 0) this.ingestKeys.inc({ outcome }, count);
  }
}
