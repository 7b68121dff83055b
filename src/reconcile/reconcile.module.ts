import { Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { ReconcileScheduler } from './reconcile.scheduler';

/**
 * The scheduler role's periodic repair of shared-body references (see ReferenceReconciler). AppModule imports
 * ScheduleModule once for every scheduled job of the process.
 */
@Module({
  imports: [StoreModule],
  providers: [ReconcileScheduler],
})
export class ReconcileModule {}
