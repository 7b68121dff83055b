import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

export const AUDITED_ACTION = 'setgetapi:audited-action';

/**
 * Records every successful call of an admin route in the audit, as `action` (e.g. `ttl-policy.put`), by the caller's
 * API key id. AuditInterceptor (registered once, by AuditModule) does the recording: the entry's target is the
 * route's path and its `after` the route's answer when that is an object, unless the route says better through
 * the AuditChange it can take as a parameter. A call that fails changed nothing and is not recorded.
 */
export const Audited = (action: string) => SetMetadata(AUDITED_ACTION, action);

/** What a route may tell the audit about its change; anything left unset takes the defaults of Audited. */
export interface AuditChange {
  target?: string;
  before?: unknown;
  after?: unknown;
}

declare module 'fastify' {
  interface FastifyRequest {
    auditChange?: AuditChange;
  }
}

/**
 * The AuditChange of this call, for a route marked Audited to fill in (the state before the change, say). On a route
 * that is not audited it is a fresh object nobody reads.
 */
export const CurrentAuditChange = createParamDecorator((_: unknown, context: ExecutionContext): AuditChange => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  request.auditChange ??= {};
  return request.auditChange;
});
