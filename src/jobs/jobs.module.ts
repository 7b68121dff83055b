import { DynamicModule, Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { JobRunner } from './job-runner';
import { JobsController } from './jobs.controller';

/**
 * Long admin operations as jobs that survive the instance that started them. Built once per process by AppModule
 * (one JobRunner) and handed to the modules whose handlers it runs; GET /admin/jobs on admin processes.
 */
@Module({})
export class JobsModule {
  static forRoot(uses: { adminRoutes: boolean }): DynamicModule {
    return {
      module: JobsModule,
      imports: [StoreModule],
      controllers: uses.adminRoutes ? [JobsController] : [],
      providers: [JobRunner],
      exports: [JobRunner],
    };
  }
}
