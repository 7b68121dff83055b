import { DynamicModule, Module } from '@nestjs/common';
import { StoreModule } from '../store/store.module';
import { TtlPolicyController } from './ttl-policy.controller';
import { TtlPolicyService } from './ttl-policy.service';

/**
 * TTL policies: resolution for the worker, and the admin routes when this process serves the admin role.
 * AppModule builds it once and hands the same module to the modules that need TtlPolicyService.
 */
@Module({})
export class TtlPolicyModule {
  static forRoot(options: { adminRoutes: boolean }): DynamicModule {
    return {
      module: TtlPolicyModule,
      imports: [StoreModule],
      controllers: options.adminRoutes ? [TtlPolicyController] : [],
      providers: [TtlPolicyService],
      exports: [TtlPolicyService],
    };
  }
}
