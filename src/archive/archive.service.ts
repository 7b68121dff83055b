import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { ApiException } from '../common/api-exception';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { ArchiveRun, ArchiveStateStore } from '../store/archive-state-store';
import { JournalStore } from '../store/journal-store';
import { RecordStore } from '../store/record-store';
import { ArchiveRestorer, RestoreCounts, RestoreFilter } from './archive-restorer';
import { ArchiveBusyError, ArchiveRunner } from './archive-runner';
import { ArchiveRepository } from './archive.repository';

/** The archive lock an erasure holds: its journal and MongoDB steps take seconds, not minutes. */
const ERASURE_LOCK_MS = 120_000;

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

  /** Without the archive, only the journal could hold a copy (it is written only while MONGODB_URI is set). */
  async eraseAccount(accountId: string): Promise<ArchiveErasure> {
    return { journalEntries: await this.journal.eraseAccount(accountId), archivedRecords: 0, archivedPolicies: 0 };
  }
}
