import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { StoreModule } from '../store/store.module';
import { DEPENDENCY_PROBES, DependencyProbe } from './dependency-probe';
import { HealthController } from './health.controller';
import { ReadinessService } from './readiness.service';
import { RedisProbe } from './redis.probe';
import { SqsProbe } from './sqs.probe';

export interface HealthDependencies {
  redis: boolean;
  sqs: boolean;
}

/** /health/live and /health/ready; readiness probes only what this process's roles use. */
@Module({})
export class HealthModule {
  static forRoot(dependencies: HealthDependencies): DynamicModule {
    const probes: Type<DependencyProbe>[] = [
      ...(dependencies.redis ? [RedisProbe] : []),
      ...(dependencies.sqs ? [SqsProbe] : []),
    ];
    const collected: Provider = {
      provide: DEPENDENCY_PROBES,
      inject: probes,
      useFactory: (...instances: DependencyProbe[]) => instances,
    };
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(dependencies.redis ? [StoreModule] : [])],
      controllers: [HealthController],
      providers: [ReadinessService, ...probes, collected],
    };
  }
}
