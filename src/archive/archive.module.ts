import { DynamicModule, Module, Provider } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { StoreModule } from '../store/store.module';
import { ArchiveRestorer } from './archive-restorer';
import { ArchiveRunner } from './archive-runner';
import { ArchiveController } from './archive.controller';
import { ArchiveRepository } from './archive.repository';
import { ArchiveScheduler } from './archive.scheduler';
import {
  ARCHIVED_AUDIT,
  ARCHIVED_POLICY,
  ARCHIVED_RECORD,
  ArchivedAuditEntrySchema,
  ArchivedPolicySchema,
  ArchivedRecordSchema,
} from './archive.schemas';
import { ArchiveOff, ArchiveService, MongoArchiveService } from './archive.service';
import { MongoProbe } from './mongo.probe';

export interface ArchiveRoles {
  adminRoutes: boolean;
  scheduler: boolean;
}

/**
 * The nightly MongoDB archive and its admin routes. Without MONGODB_URI the module still answers its routes (503,
 * "the archive is off") and the schedule logs once that nothing is archived; MongoDB is never contacted.
 */
@Module({})
export class ArchiveModule {
  static forRoot(config: AppConfig, roles: ArchiveRoles): DynamicModule {
    const enabled = config.mongodbUri !== null;
    const mongo = enabled
      ? [
          MongooseModule.forRootAsync({
            inject: [APP_CONFIG],
            useFactory: (appConfig: AppConfig) => ({
              uri: appConfig.mongodbUri ?? '',
              // Start, and keep serving, while MongoDB is down: the connection opens in the background and a run
              // reopens it if needed; operations fail after 5 s instead of queueing.
              lazyConnection: true,
              bufferCommands: false,
              serverSelectionTimeoutMS: 5000,
              connectTimeoutMS: 5000,
              autoIndex: false,
              autoCreate: false,
            }),
          }),
          MongooseModule.forFeature([
            { name: ARCHIVED_RECORD, schema: ArchivedRecordSchema },
            { name: ARCHIVED_POLICY, schema: ArchivedPolicySchema },
            { name: ARCHIVED_AUDIT, schema: ArchivedAuditEntrySchema },
          ]),
        ]
      : [];
    const providers: Provider[] = enabled
      ? [
          ArchiveRepository,
          ArchiveRunner,
          ArchiveRestorer,
          MongoProbe,
          { provide: ArchiveService, useClass: MongoArchiveService },
        ]
      : [{ provide: ArchiveService, useClass: ArchiveOff }];
    return {
      module: ArchiveModule,
      imports: [StoreModule, ...mongo],
      controllers: roles.adminRoutes ? [ArchiveController] : [],
      providers: [...providers, ...(roles.scheduler ? [ArchiveScheduler] : [])],
      // The erasure job (src/erasure) erases the account's archived copies through it.
      exports: [ArchiveService],
    };
  }
}
