import { Injectable } from '@nestjs/common';
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { ApiException } from '../common/api-exception';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { ArchiveRun, ArchiveStateStore } from '../store/archive-state-store';
import { JournalStore } from '../store/journal-store';
import { RecordStore } from '../store/record-store';
import { WebhookKeyDigester } from '../store/key-layout';
import { ArchiveRestorer, RestoreCounts, RestoreFilter } from './archive-restorer';
import { ArchiveBusyError, ArchiveRunner } from './archive-runner';
import { RecordWrite, rekeyWrite } from './archive-documents';
import { ArchiveRepository } from './archive.repository';

/** The archive lock an erasure holds: its journal and MongoDB steps take seconds, not minutes. */
const ERASURE_LOCK_MS = 120_000;
/** The archive lock the re-key holds, renewed at every batch of archived datums. */
const REKEY_LOCK_MS = 60_000;
/** How often the re-key looks whether the archive run it started has ended. */
const RUN_POLL_MS = 250;
/** Archived datums per re-key bulk write. */
const REKEY_BATCH = 500;

/** What the archive routes and the schedule ask of the archive. */
export abstract class ArchiveService {
  abstract readonly enabled: boolean;
  abstract startRun(trigger: ArchiveRun['trigger']): Promise<ArchiveRun>;
  abstract listRuns(): Promise<ArchiveRun[]>;
  abstract getRun(runId: string): Promise<ArchiveRun>;
  abstract restore(filter: RestoreFilter): Promise<RestoreCounts>;
  /**
   * An account's erasure, on the archive's side: under the archive lock (no run copies the account meanwhile), the
   * account's journal entries, then its archived records and policies. Null when the archive is off (then only the
   * journal is cleared: nothing else holds a copy).
   */
  abstract eraseAccount(accountId: string): Promise<ArchiveErasure>;
  /**
   * Re-key, on the archive's side (after the records in Redis have moved): an archive run first, so that the journal
   * entries written before the move (which name the older digests) are in MongoDB, then, under the archive lock,
   * every archived datum's keys moved to the newest secret by their masks. `report` gets the counts after each
   * batch. Resumable: a datum moved already has nothing left to move.
   */
  abstract rekey(report: (counts: ArchiveRekeyCounts) => Promise<void>, signal: AbortSignal): Promise<void>;
}

/** What a batch of the archive's re-key did (counts of archived datums, and of their keys for `unmovable`). */
export interface ArchiveRekeyCounts {
  moved: number;
  unmovable: number;
}

export interface ArchiveErasure {
  journalEntries: number;
  archivedRecords: number;
  archivedPolicies: number;
}

@Injectable()
export class MongoArchiveService extends ArchiveService {
  readonly enabled = true;

  constructor(
    private readonly runner: ArchiveRunner,
    private readonly restorer: ArchiveRestorer,
    private readonly state: ArchiveStateStore,
    private readonly journal: JournalStore,
    private readonly repository: ArchiveRepository,
    private readonly records: RecordStore,
    private readonly digester: WebhookKeyDigester,
  ) {
    super();
  }

  async startRun(trigger: ArchiveRun['trigger']): Promise<ArchiveRun> {
    try {
      return await this.runner.start(trigger);
    } catch (error) {
      if (error instanceof ArchiveBusyError) throw new ApiException(409, 'An archive run is already in progress');
      throw error;
    }
  }

  listRuns(): Promise<ArchiveRun[]> {
    return this.state.listRuns();
  }

  async getRun(runId: string): Promise<ArchiveRun> {
    const run = await this.state.getRun(runId);
    if (run === null) throw new ApiException(404, `No archive run ${runId}`);
    return run;
  }

  restore(filter: RestoreFilter): Promise<RestoreCounts> {
    if (this.records.rotating) {
      throw new ApiException(
        409,
        'Restore is refused while WEBHOOK_KEY_SECRETS lists more than one secret: it could write beside a key ' +
          'stored under another secret. Restore once the rotation is over (one secret), or before it starts.',
      );
    }
    return this.restorer.restore(filter);
  }

  async eraseAccount(accountId: string): Promise<ArchiveErasure> {
    const owner = `erase-${randomUUID()}`;
    if (!(await this.state.holdLock(owner, ERASURE_LOCK_MS))) {
      // A run is copying: the erasure waits for it (a passing failure: the job resumes in a few seconds).
      throw new DependencyUnavailableError('MongoDB', new Error('an archive run is in progress; erasing after it'));
    }
    try {
      const journalEntries = await this.journal.eraseAccount(accountId);
      const archived = await this.repository.eraseAccount(accountId).catch((error: unknown) => {
        throw new DependencyUnavailableError('MongoDB', error);
      });
      return { journalEntries, archivedRecords: archived.records, archivedPolicies: archived.policies };
    } finally {
      await this.state.releaseLock(owner);
    }
  }

  async rekey(report: (counts: ArchiveRekeyCounts) => Promise<void>, signal: AbortSignal): Promise<void> {
    await this.drainJournal(signal);
    const owner = `rekey-${randomUUID()}`;
    const holdLock = async () => {
      if (!(await this.state.holdLock(owner, REKEY_LOCK_MS))) {
        // A run started between ours and now: its journal entries name the newest digests already; wait for it.
        throw new DependencyUnavailableError('MongoDB', new Error('an archive run is in progress; re-keying after it'));
      }
    };
    await holdLock();
    try {
      let batch: RecordWrite[] = [];
      let unmovable = 0;
      const now = new Date();
      const flush = async () => {
        signal.throwIfAborted();
        const moved = await this.repository.writeRecords(batch).catch(mongoUnavailable);
        await report({ moved, unmovable });
        batch = [];
        unmovable = 0;
        await holdLock();
      };
      for await (const record of this.repository.rekeyedFields$()) {
        const rekeyed = rekeyWrite(record, this.digester, now);
        unmovable += rekeyed.unmovable;
        if (rekeyed.write !== null) batch.push(rekeyed.write);
        if (batch.length >= REKEY_BATCH) await flush();
      }
      await flush();
    } catch (error) {
      // The driver's failures (MongoDB away) pause the job; it resumes in a few seconds. Anything else is a bug, and
      // fails the job with its message rather than retrying it for ever.
      if (error instanceof DependencyUnavailableError || signal.aborted) throw error;
      if (error instanceof mongoose.mongo.MongoError || error instanceof mongoose.Error) {
        throw new DependencyUnavailableError('MongoDB', error);
      }
      throw error;
    } finally {
      await this.state.releaseLock(owner).catch(() => undefined);
    }
  }

  /** One archive run, started here and waited for: the journal is in MongoDB afterwards. */
  private async drainJournal(signal: AbortSignal): Promise<void> {
    let run: ArchiveRun;
    try {
      run = await this.runner.start('rekey');
    } catch (error) {
      if (!(error instanceof ArchiveBusyError)) throw error;
      throw new DependencyUnavailableError('MongoDB', new Error('an archive run is in progress; re-keying after it'));
    }
    for (;;) {
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, RUN_POLL_MS));
      const now = await this.state.getRun(run.runId);
      if (now?.status === 'succeeded') return;
      if (now?.status === 'failed') {
        throw new DependencyUnavailableError(
          'MongoDB',
          new Error(`the archive run before the re-key failed: ${now.error}`),
        );
      }
    }
  }
}

/** The archive without MONGODB_URI: every route answers 503 saying so. */
@Injectable()
export class ArchiveOff extends ArchiveService {
  readonly enabled = false;

  constructor(private readonly journal: JournalStore) {
    super();
  }

  private off(): never {
    throw new ApiException(503, 'The archive is off: MONGODB_URI is not set');
  }

  startRun(): Promise<ArchiveRun> {
    this.off();
  }

  listRuns(): Promise<ArchiveRun[]> {
    this.off();
  }

  getRun(): Promise<ArchiveRun> {
    this.off();
  }

  restore(): Promise<RestoreCounts> {
    this.off();
  }

  /** Without the archive nothing holds a digest but Redis (the journal is written only while MONGODB_URI is set). */
  async rekey(): Promise<void> {}

  /** Without the archive, only the journal could hold a copy (it is written only while MONGODB_URI is set). */
  async eraseAccount(accountId: string): Promise<ArchiveErasure> {
    return { journalEntries: await this.journal.eraseAccount(accountId), archivedRecords: 0, archivedPolicies: 0 };
  }
}

function mongoUnavailable(error: unknown): never {
  throw new DependencyUnavailableError('MongoDB', error);
}
