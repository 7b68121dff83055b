import { DynamicModule, Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { RekeyController } from './rekey.controller';
import { RekeyService } from './rekey.service';

/**
 * Re-key of the webhook-key secret (a job): POST /admin/rekey on admin processes; the job runs on any process with
 * the jobs runner (admin, scheduler). Built from the modules AppModule built once each.
 */
@Module({})
export class RekeyModule {
  static forRoot(
    archiveModule: DynamicModule,
    jobsModule: DynamicModule,
    uses: { adminRoutes: boolean },
  ): DynamicModule {
    return {
      module: RekeyModule,
      imports: [StoreModule, archiveModule, jobsModule],
      controllers: uses.adminRoutes ? [RekeyController] : [],
      providers: [RekeyService],
    };
  }
}
