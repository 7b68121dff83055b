import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MongoProbe } from '../archive/mongo.probe';
import { IngestPauseProbe } from '../ingest/ingest-pause.probe';
import { StoreModule } from '../store/store.module';
import { DEPENDENCY_PROBES, DependencyProbe } from './dependency-probe';
import { HealthController } from './health.controller';
import { JournalProbe } from './journal.probe';
import { ReadinessService } from './readiness.service';
import { RedisProbe } from './redis.probe';
import { SqsProbe } from './sqs.probe';

export interface HealthDependencies {
  redis: boolean;
  sqs: boolean;
  /** The ArchiveModule AppModule built, when MongoDB is configured for this process; it exports MongoProbe. */
  mongodb: DynamicModule | null;
  /** The IngestModule AppModule built, when this process is a worker; it exports IngestPauseProbe. */
  ingest: DynamicModule | null;
}

/** /health/live and /health/ready; readiness probes only what this process's roles use. */
@Module({})
export class HealthModule {
  static forRoot(dependencies: HealthDependencies): DynamicModule {
    const ownProbes: Type<DependencyProbe>[] = [
      ...(dependencies.redis ? [RedisProbe] : []),
      ...(dependencies.redis && dependencies.mongodb ? [JournalProbe] : []),
      ...(dependencies.sqs ? [SqsProbe] : []),
    ];
    const probes: Type<DependencyProbe>[] = [
      ...ownProbes,
      ...(dependencies.mongodb ? [MongoProbe] : []),
      ...(dependencies.ingest ? [IngestPauseProbe] : []),
    ];
    const collected: Provider = {
      provide: DEPENDENCY_PROBES,
      inject: probes,
      useFactory: (...instances: DependencyProbe[]) => instances,
    };
    return {
      module: HealthModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        ...(dependencies.redis ? [StoreModule] : []),
        ...(dependencies.mongodb ? [dependencies.mongodb] : []),
        ...(dependencies.ingest ? [dependencies.ingest] : []),
      ],
      controllers: [HealthController],
      providers: [ReadinessService, ...ownProbes, collected],
    };
  }
}
