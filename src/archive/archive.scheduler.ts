import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { ApiException } from '../common/api-exception';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ArchiveService } from './archive.service';

export const ARCHIVE_JOB = 'archive';

/**
 * Fires the archive at ARCHIVE_CRON in ARCHIVE_TZ. Every replica with the scheduler role fires it (@nestjs/schedule
 * has no lock of its own); the run's Redis lock lets one of them through, the others log that they skipped.
 * The job is registered at start-up rather than with a @Cron decorator because its schedule is configuration.
 */
@Injectable()
export class ArchiveScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(ArchiveScheduler.name);
  private offLogged = false;

  constructor(
    private readonly archive: ArchiveService,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const job = CronJob.from({
      cronTime: this.config.archive.cron,
      timeZone: this.config.archive.timeZone,
      onTick: () => this.fire(),
      waitForCompletion: true,
    });
    this.registry.addCronJob(ARCHIVE_JOB, job);
    job.start();
    this.logger.log(`archive scheduled at "${this.config.archive.cron}" (${this.config.archive.timeZone})`);
  }

  async fire(): Promise<void> {
    if (!this.archive.enabled) {
      if (!this.offLogged) this.logger.warn('the archive is off (MONGODB_URI is not set): nothing is archived');
      this.offLogged = true;
      return;
    }
    try {
      const run = await this.archive.startRun('schedule');
      this.logger.log(`scheduled archive run ${run.runId} started`);
    } catch (error) {
      if (error instanceof ApiException && error.getStatus() === 409) {
        this.logger.log('scheduled archive run skipped: another instance holds the archive lock');
        return;
      }
      this.logger.error(`scheduled archive run could not start: ${(error as Error).message}`);
    }
  }
}
