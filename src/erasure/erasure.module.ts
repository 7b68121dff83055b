import { DynamicModule, Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { ErasureController } from './erasure.controller';
import { ErasureService } from './erasure.service';

/**
 * Erasure of an account (a job): DELETE /admin/accounts/:accountId/data on admin processes; the job runs on any
 * process with the jobs runner (admin, scheduler). Built from the modules AppModule built once each.
 */
@Module({})
export class ErasureModule {
  static forRoot(
    archiveModule: DynamicModule,
    deadLetterModule: DynamicModule,
    jobsModule: DynamicModule,
    uses: { adminRoutes: boolean },
  ): DynamicModule {
    return {
      module: ErasureModule,
      imports: [StoreModule, archiveModule, deadLetterModule, jobsModule],
      controllers: uses.adminRoutes ? [ErasureController] : [],
      providers: [ErasureService],
    };
  }
}
