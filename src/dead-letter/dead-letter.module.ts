import { DynamicModule, Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { DeadLetterController } from './dead-letter.controller';
import { DeadLetterService } from './dead-letter.service';
import { DeadLetterSweeper } from './dead-letter.sweeper';
import { DeadLetterWalks } from './dead-letter-walks';

/**
 * Dead letters: admin routes and redrive jobs (admin role), the sweep that indexes what SQS moved by itself
 * (scheduler role).
 */
@Module({})
export class DeadLetterModule {
  /**
   * @param queueModule the one QueueModule AppModule built, with dead letters enabled
   * @param jobsModule the one JobsModule AppModule built, which runs redrive jobs
   */
  static forRoot(
    queueModule: DynamicModule,
    jobsModule: DynamicModule,
    uses: { adminRoutes: boolean; sweeper: boolean },
  ): DynamicModule {
    return {
      module: DeadLetterModule,
      imports: [StoreModule, jobsModule, queueModule],
      controllers: uses.adminRoutes ? [DeadLetterController] : [],
      providers: [DeadLetterService, DeadLetterWalks, ...(uses.sweeper ? [DeadLetterSweeper] : [])],
      // The erasure job (src/erasure) deletes an account's dead letters through it.
      exports: [DeadLetterService],
    };
  }
}
