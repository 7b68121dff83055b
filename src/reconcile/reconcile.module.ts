import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { StoreModule } from '../store/store.module';
import { ReconcileScheduler } from './reconcile.scheduler';

/** The scheduler role's periodic repair of shared-body references (see ReferenceReconciler). */
@Module({
  imports: [StoreModule, ScheduleModule.forRoot()],
  providers: [ReconcileScheduler],
})
export class ReconcileModule {}
