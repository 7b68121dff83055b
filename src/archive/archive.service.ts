import { Injectable } from '@nestjs/common';
import { ApiException } from '../common/api-exception';
import { ArchiveRun, ArchiveStateStore } from '../store/archive-state-store';
import { ArchiveRestorer, RestoreCounts, RestoreFilter } from './archive-restorer';
import { ArchiveBusyError, ArchiveRunner } from './archive-runner';

/** What the archive routes and the schedule ask of the archive. */
export abstract class ArchiveService {
  abstract readonly enabled: boolean;
  abstract startRun(trigger: ArchiveRun['trigger']): Promise<ArchiveRun>;
  abstract listRuns(): Promise<ArchiveRun[]>;
  abstract getRun(runId: string): Promise<ArchiveRun>;
  abstract restore(filter: RestoreFilter): Promise<RestoreCounts>;
}

@Injectable()
export class MongoArchiveService extends ArchiveService {
  readonly enabled = true;

  constructor(
    private readonly runner: ArchiveRunner,
    private readonly restorer: ArchiveRestorer,
    private readonly state: ArchiveStateStore,
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
    return this.restorer.restore(filter);
  }
}

/** The archive without MONGODB_URI: every route answers 503 saying so. */
@Injectable()
export class ArchiveOff extends ArchiveService {
  readonly enabled = false;

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
}
