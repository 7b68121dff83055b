import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ArchiveService } from '../archive/archive.service';
import { ApiException } from '../common/api-exception';
import { JOB_KIND } from '../jobs/job-kinds';
import { JobContext, JobHandler, JobRunner } from '../jobs/job-runner';
import { JobRecord } from '../store/job-store';
import { WebhookKeyDigester } from '../store/key-layout';
import { RecordScanPosition, RecordStore } from '../store/record-store';

/** Progress of a re-key job (GET /admin/jobs/:jobId), documented in docs/contract.md. */
const NOTHING_YET = {
  scanned: 0,
  moved: 0,
  alreadyCurrent: 0,
  superseded: 0,
  unmovable: 0,
  archiveMoved: 0,
  archiveUnmovable: 0,
};
type RekeyProgress = typeof NOTHING_YET;

/** Where a re-key job stands, in its record's params: what a takeover after a crash resumes from. */
interface RekeyParams {
  phase: 'records' | 'archive';
  /** Where the walk over the records resumes (the next SCAN page). */
  position: RecordScanPosition;
}

/** Record keys per SCAN page: the job saves its position after each page, so a takeover repeats at most one. */
const SCAN_PAGE = 200;

/**
 * Re-key (POST /admin/rekey), as a job: moves every webhook key to the newest secret of WEBHOOK_KEY_SECRETS, so that
 * the older secrets can be dropped with nothing lost. First the records in Redis (data, tombstones, delete markers,
 * with their shared bodies' attachments), page by page over every master, saving its position after each page;
 * then the archive (ArchiveService.rekey: an archive run, then every archived datum's keys). Each step finds what is
 * left to do from what is there, so a job taken over after a crash (JobRunner) repeats at most one page.
 */
@Injectable()
export class RekeyService implements JobHandler, OnModuleInit {
  readonly kind = JOB_KIND.rekey;
  private readonly logger = new Logger(RekeyService.name);

  constructor(
    private readonly records: RecordStore,
    private readonly archive: ArchiveService,
    private readonly runner: JobRunner,
    private readonly digester: WebhookKeyDigester,
  ) {}

  /**
   * Only a process that knows the secrets runs (or takes over) a re-key: a scheduler-only process has none
   * (WEBHOOK_KEY_SECRETS is not read there), and would find every record's secret unknown.
   */
  onModuleInit(): void {
    if (this.digester.secretCount > 0) this.runner.register(this);
  }

  /**
   * 409 while a re-key runs (two would only repeat each other's work) or an erasure does: a record the re-key
   * renames while the erasure's walk passes could be missed by it. Checked and recorded in one step, so two requests
   * at the same instant cannot both pass.
   */
  async start(): Promise<JobRecord> {
    const params: RekeyParams = { phase: 'records', position: { node: 0, cursor: '0' } };
    const outcome = await this.runner.startExclusive(JOB_KIND.rekey, { ...params }, { ...NOTHING_YET }, [
      JOB_KIND.rekey,
      JOB_KIND.eraseAccount,
    ]);
    if ('started' in outcome) return outcome.started;
    const running = outcome.excludedBy;
    const what = running.kind === JOB_KIND.rekey ? 'A re-key' : 'An account erasure';
    throw new ApiException(409, `${what} is running (job ${running.jobId}); start the re-key once it has finished`);
  }

  async run(job: JobRecord, context: JobContext): Promise<void> {
    const params = job.params as unknown as RekeyParams;
    const progress: RekeyProgress = { ...NOTHING_YET, ...job.progress };
    if (params.phase === 'records') {
      for await (const page of this.records.scanRecordKeys(params.position, SCAN_PAGE)) {
        context.signal.throwIfAborted();
        const counts = await this.records.rekeyRecords(page.recordKeys);
        if (counts.unmovable > 0) {
          this.logger.warn(
            `re-key ${job.jobId}: records left under their secret: ${counts.unmovableDigests.join(' ')}`,
          );
        }
        progress.scanned += page.recordKeys.length;
        progress.moved += counts.moved;
        progress.alreadyCurrent += counts.alreadyCurrent;
        progress.superseded += counts.superseded;
        progress.unmovable += counts.unmovable;
        params.position = page.next;
        // Saves the params with the progress: the position and the counts up to it stay together.
        await context.progress({ ...progress });
      }
      params.phase = 'archive';
      await context.progress({ ...progress });
    }
    // Each walk of the archive counts every unmovable key again (a resumed job walks it from the start); a datum
    // moved once is never moved again, so `archiveMoved` adds up across walks.
    progress.archiveUnmovable = 0;
    await this.archive.rekey(async ({ moved, unmovable }) => {
      progress.archiveMoved += moved;
      progress.archiveUnmovable += unmovable;
      await context.progress({ ...progress });
    }, context.signal);
    this.logger.log(`re-key ${job.jobId} done: ${JSON.stringify(progress)}`);
  }
}
