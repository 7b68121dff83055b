import { CallHandler, ExecutionContext, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { mergeMap, Observable } from 'rxjs';
import { AuditEntry, AuditStore } from '../store/audit-store';
import { AUDITED_ACTION } from './audited';

/**
 * Appends one audit entry for each successful call of a route marked Audited, once the route has answered. The
 * change is made by then: an entry Redis refuses is written to the log in full instead (error level), and the
 * call still answers with its result, rather than telling the caller that a change it made failed.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly logger = new Logger(AuditInterceptor.name);

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditStore,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const action = this.reflector.get<string | undefined>(AUDITED_ACTION, context.getHandler());
    if (action === undefined) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    request.auditChange ??= {};
    const change = request.auditChange;
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await this.record({
          at: new Date().toISOString(),
          actor: request.principal?.id ?? 'unknown',
          action,
          target: change.target ?? request.url.split('?', 1)[0],
          ...(change.before !== undefined && { before: change.before }),
          ...((change.after ?? result) instanceof Object && { after: change.after ?? result }),
        });
        return result;
      }),
    );
  }

  private async record(entry: AuditEntry): Promise<void> {
    try {
      await this.audit.append(entry);
    } catch (error) {
      this.logger.error(
        { audit: entry, reason: error instanceof Error ? error.message : String(error) },
        'audit entry not recorded',
      );
    }
  }
}
