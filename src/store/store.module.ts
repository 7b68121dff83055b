import { RedisModule } from '@nestjs-modules/ioredis';
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ArchiveStateStore } from './archive-state-store';
import { DeadLetterIndex } from './dead-letter-index';
import { JobStore } from './job-store';
import { LeaseStore } from './lease-store';
import { MessageStatusStore } from './message-status-store';
import { AuditStore } from './audit-store';
import { JournalStore } from './journal-store';
import { KeyLayout, WebhookKeyDigester } from './key-layout';
import { ReadMissCounter } from './read-miss-counter';
import { RecordReader } from './record-reader';
import { RecordStore } from './record-store';
import { ReferenceReconciler } from './reference-reconciler';
import { redisModuleOptions } from './redis-client';
import { RedisStatus } from './redis-status';
import { TtlPolicyStore } from './ttl-policy-store';

/** What other modules use of Redis: these classes, never the client. */
const STORES = [
  RecordStore,
  RecordReader,
  ReadMissCounter,
  TtlPolicyStore,
  JournalStore,
  ArchiveStateStore,
  RedisStatus,
  ReferenceReconciler,
  MessageStatusStore,
  DeadLetterIndex,
  JobStore,
  LeaseStore,
  AuditStore,
];

/** Everything that touches Redis. Other modules use these classes, never the client. */
@Module({
  imports: [
    RedisModule.forRootAsync({
      useFactory: (config: AppConfig) => redisModuleOptions(config),
      inject: [APP_CONFIG],
    }),
  ],
  providers: [
    {
      provide: KeyLayout,
      useFactory: (config: AppConfig) => new KeyLayout(config.redis.keyPrefix),
      inject: [APP_CONFIG],
    },
    {
      provide: WebhookKeyDigester,
      useFactory: (config: AppConfig) => new WebhookKeyDigester(...config.webhookKeySecrets),
      inject: [APP_CONFIG],
    },
    ...STORES,
  ],
  // The digester too: the archive re-keys its documents' digests (WEBHOOK_KEY_SECRETS) with the same secrets.
  exports: [...STORES, WebhookKeyDigester],
})
export class StoreModule {}
