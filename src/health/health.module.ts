import { DynamicModule, Module, Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { StoreModule } from '../store/store.module';
import { DependencyProbe } from './dependency-probe';
import { HealthController } from './health.controller';
import { JournalProbe } from './journal.probe';
import { ReadinessService } from './readiness.service';
import { RedisProbe } from './redis.probe';

export interface HealthDependencies {
  redis: boolean;
  /** The archive runs against MongoDB in this process: the bound of its write journal in Redis is reported. */
  journal: boolean;
}

/**
 * /health/live and /health/ready; readiness probes only what this process's roles use. The Redis and journal
 * probes are health's own; the other folders mark theirs with ReadinessProbe in the modules that provide them.
 */
@Module({})
export class HealthModule {
  static forRoot(dependencies: HealthDependencies): DynamicModule {
    const ownProbes: Type<DependencyProbe>[] = [
      ...(dependencies.redis ? [RedisProbe] : []),
      ...(dependencies.redis && dependencies.journal ? [JournalProbe] : []),
    ];
    return {
      module: HealthModule,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        DiscoveryModule,
        ...(dependencies.redis ? [StoreModule] : []),
      ],
      controllers: [HealthController],
      providers: [ReadinessService, ...ownProbes],
    };
  }
}
