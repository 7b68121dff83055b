import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ArchiveService } from '../archive/archive.service';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import { JOB_KIND } from '../jobs/job-kinds';
import { JobContext, JobHandler, JobRunner } from '../jobs/job-runner';
import { JobRecord } from '../store/job-store';
import { ApiException } from '../common/api-exception';
import { RecordStore } from '../store/record-store';
import { TtlPolicyStore } from '../store/ttl-policy-store';

const NOTHING_YET = {
  records: 0,
  policies: 0,
  journalEntries: 0,
  archivedRecords: 0,
  archivedPolicies: 0,
  deadLetters: 0,
};

/**
 * Erases an account's data everywhere the service keeps it, as a job: its records in Redis (data, tombstones,
 * delete markers, and the shared bodies only they held), its TTL policies, its journal entries and archived copies
 * (under the archive lock, so that no run copies the account meanwhile), and its dead letters. Every step removes
 * what is there when it runs, so a job resumed after a crash runs them all again; the progress adds up.
 */
@Injectable()
export class ErasureService implements JobHandler, OnModuleInit {
  readonly kind = JOB_KIND.eraseAccount;
  private readonly logger = new Logger(ErasureService.name);

  constructor(
    private readonly records: RecordStore,
    private readonly policies: TtlPolicyStore,
    private readonly archive: ArchiveService,
    private readonly deadLetters: DeadLetterService,
    private readonly runner: JobRunner,
  ) {}

  onModuleInit(): void {
    this.runner.register(this);
  }

  /**
   * 409 while a re-key runs (src/rekey): a record it renames while this walk passes could be missed, and stay.
   * Checked and recorded in one step (JobRunner.startExclusive).
   */
  async start(accountId: string): Promise<JobRecord> {
    const outcome = await this.runner.startExclusive(JOB_KIND.eraseAccount, { accountId }, { ...NOTHING_YET }, [
      JOB_KIND.rekey,
    ]);
    if ('started' in outcome) return outcome.started;
    const rekey = outcome.excludedBy;
    throw new ApiException(409, `A re-key is running (job ${rekey.jobId}); erase the account once it has finished`);
  }

  async run(job: JobRecord, context: JobContext): Promise<void> {
    const accountId = job.params.accountId as string;
    const progress = { ...NOTHING_YET, ...job.progress };
    const step = async (done: Partial<typeof NOTHING_YET>) => {
      for (const [name, count] of Object.entries(done) as Array<[keyof typeof NOTHING_YET, number]>) {
        progress[name] += count;
      }
      await context.progress({ ...progress });
    };
    await step({ records: await this.records.eraseAccount(accountId) });
    await step({ policies: await this.policies.deleteAccount(accountId) });
    const archived = await this.archive.eraseAccount(accountId);
    await step(archived);
    await step({ deadLetters: await this.deadLetters.eraseAccount(accountId) });
    this.logger.warn(`account ${accountId} erased: ${JSON.stringify(progress)}`);
  }
}
