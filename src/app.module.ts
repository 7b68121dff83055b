import { DynamicModule, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { ArchiveModule } from './archive/archive.module';
import { AuditModule } from './audit/audit.module';
import { ConsoleModule } from './console/console.module';
import { ApiException } from './common/api-exception';
import { ApiKeyGuard } from './common/api-key.guard';
import { HttpErrorFilter } from './common/http-error.filter';
import { RejectUnparsableBodyPipe } from './common/json-body';
import { LoggingModule } from './common/logging.module';
import { AppConfig, AppRole } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DeadLetterModule } from './dead-letter/dead-letter.module';
import { ErasureModule } from './erasure/erasure.module';
import { RekeyModule } from './rekey/rekey.module';
import { JobsModule } from './jobs/jobs.module';
import { MessageStatusModule } from './message-status/message-status.module';
import { GatewayModule } from './gateway/gateway.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { toFieldProblems } from './message/record-message.validation';
import { MetricsModule } from './metrics/metrics.module';
import { QueryModule } from './query/query.module';
import { QueueModule } from './queue/queue.module';
import { ReconcileModule } from './reconcile/reconcile.module';
import { TtlPolicyModule } from './ttl-policy/ttl-policy.module';

/**
 * The whole service as one Nest module, composed from APP_ROLES: a process loads (and documents in Swagger)
 * only the parts its roles need. A gateway-only process uses Redis only for message statuses.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const has = (...roles: AppRole[]) => roles.some((role) => config.roles.has(role));
    const ttlPolicies = TtlPolicyModule.forRoot({ adminRoutes: has('admin') });
    const archive = has('admin', 'scheduler')
      ? ArchiveModule.forRoot(config, { adminRoutes: has('admin'), scheduler: has('scheduler') })
      : null;
    const queue = QueueModule.forRoot({
      sending: has('gateway'),
      receiving: has('worker'),
      deadLetters: has('admin', 'scheduler'),
    });
    // Admin and scheduler processes run jobs (and take over those of an instance that died).
    const jobs = has('admin', 'scheduler') ? JobsModule.forRoot({ adminRoutes: has('admin') }) : null;
    const deadLetters =
      jobs === null
        ? null
        : DeadLetterModule.forRoot(queue, jobs, { adminRoutes: has('admin'), sweeper: has('scheduler') });
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config),
        MetricsModule,
        HealthModule.forRoot({
          redis: has('worker', 'query', 'admin', 'scheduler'),
          journal: archive !== null && config.mongodbUri !== null,
        }),
        ...(has('gateway') ? [GatewayModule.forRoot(queue), MessageStatusModule] : []),
        ...(has('worker') ? [IngestModule.forRoot(ttlPolicies, queue)] : []),
        ...(has('query') ? [QueryModule] : []),
        ...(has('admin') ? [ttlPolicies, AuditModule, ConsoleModule] : []),
        ...(archive ? [archive] : []),
        ...(jobs && deadLetters && archive
          ? [
              jobs,
              deadLetters,
              ErasureModule.forRoot(archive, deadLetters, jobs, { adminRoutes: has('admin') }),
              RekeyModule.forRoot(archive, jobs, { adminRoutes: has('admin') }),
            ]
          : []),
        // One ScheduleModule (one SchedulerRegistry) for every job: the archive's and the reconciler's.
        ...(has('scheduler') ? [ScheduleModule.forRoot(), ReconcileModule] : []),
      ],
      providers: [
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_PIPE, useClass: RejectUnparsableBodyPipe },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
            stopAtFirstError: true,
            exceptionFactory: (errors) =>
              new ApiException(400, 'Invalid request', { details: toFieldProblems(errors) }),
          }),
        },
      ],
    };
  }
}
