import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { ReconcileReport, ReferenceReconciler } from '../store/reference-reconciler';

export const RECONCILE_JOB = 'reconcile';

/**
 * Runs the reference reconciler at RECONCILE_CRON on one scheduler replica at a time (its own Redis lock), whether
 * or not the archive is on: the references it repairs exist with or without MongoDB.
 */
@Injectable()
export class ReconcileScheduler implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReconcileScheduler.name);

  constructor(
    private readonly reconciler: ReferenceReconciler,
    private readonly metrics: MetricsService,
    private readonly registry: SchedulerRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const job = CronJob.from({
      cronTime: this.config.reconcileCron,
      onTick: async () => {
        await this.fire();
      },
      waitForCompletion: true,
    });
    this.registry.addCronJob(RECONCILE_JOB, job);
    job.start();
  }

  async fire(): Promise<ReconcileReport | null> {
    try {
      const report = await this.reconciler.reconcileExclusively();
      if (report !== null) this.record(report);
      return report;
    } catch (error) {
      this.logger.error(`reference reconciliation failed, next try at the next tick: ${(error as Error).message}`);
      return null;
    }
  }

  private record(report: ReconcileReport): void {
    this.metrics.reconcilerRepairs.inc({ kind: 'unheld_attachment' }, report.unheldAttachments);
    this.metrics.reconcilerRepairs.inc({ kind: 'datum_freed' }, report.datumsFreed);
    this.metrics.reconcilerRepairs.inc({ kind: 'dangling_record' }, report.danglingRecords);
    const repaired = report.unheldAttachments + report.danglingRecords;
    const line = `references reconciled: ${JSON.stringify(report)}`;
    if (report.danglingRecords > 0) this.logger.error(`${line}: a key pointed at a missing body, please report this`);
    else if (repaired > 0) this.logger.warn(line);
    else this.logger.log(line);
  }
}
