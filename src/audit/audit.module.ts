import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { StoreModule } from '../store/store.module';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';

/**
 * The audit of admin changes (admin role): GET /admin/audit, and the one interceptor that records every route
 * marked Audited, whichever module it is in.
 */
@Module({
  imports: [StoreModule],
  controllers: [AuditController],
  providers: [{ provide: APP_INTERCEPTOR, useClass: AuditInterceptor }],
})
export class AuditModule {}
