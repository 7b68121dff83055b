import {
  applyDecorators,
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ApiException } from './api-exception';
import { ErrorResponseDto } from './error-response.dto';

export type ApiKeyScope = 'producer' | 'admin';

/** Who presented the x-api-key of the current request. */
export interface Principal {
  scope: ApiKeyScope;
  /** The key's id (PRODUCER_API_KEYS / ADMIN_API_KEYS, or its fingerprint): names the caller in logs and the audit. */
  id: string;
  /** The account a producer key is bound to; null for admin keys. */
  accountId: string | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const API_KEY_SCOPE = 'setgetapi:api-key-scope';
export const API_KEY_HEADER = 'x-api-key';

/** Marks a controller or route as needing an `x-api-key` of the given scope. */
export const RequireApiKey = (scope: ApiKeyScope) =>
  applyDecorators(
    SetMetadata(API_KEY_SCOPE, scope),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Missing or unknown x-api-key' }),
    ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The key may not do this' }),
  );

interface Credential {
  digest: Buffer;
  principal: Principal;
}

/**
 * Checks `x-api-key` on routes marked with RequireApiKey. Keys are compared as SHA-256 digests with
 * timingSafeEqual against every configured key, without stopping at the first match, so neither the position of a
 * key in the list nor a common prefix shows in the response time.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly credentials: Credential[];
  /** Route metadata never changes: looked up once per handler, not on every request of the read path. */
  private readonly scopes = new Map<object, ApiKeyScope | undefined>();

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.credentials = [
      ...config.producerKeys.map(({ id, key, accountId }) => credential(key, { scope: 'producer', id, accountId })),
      ...config.adminKeys.map(({ id, key }) => credential(key, { scope: 'admin', id, accountId: null })),
    ];
  }

  private scopeOf(context: ExecutionContext): ApiKeyScope | undefined {
    const handler = context.getHandler();
    if (!this.scopes.has(handler)) {
      this.scopes.set(
        handler,
        this.reflector.getAllAndOverride<ApiKeyScope | undefined>(API_KEY_SCOPE, [handler, context.getClass()]),
      );
    }
    return this.scopes.get(handler);
  }

  canActivate(context: ExecutionContext): boolean {
    const scope = this.scopeOf(context);
    if (scope === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const presented = request.headers[API_KEY_HEADER];
    if (typeof presented !== 'string' || presented === '') {
      throw new ApiException(401, `Missing ${API_KEY_HEADER} header`);
    }
    const principal = this.identify(presented);
    if (principal === null) throw new ApiException(401, `Unknown ${API_KEY_HEADER}`);
    // Attached before the scope check, so that the log line of a 403 names the key that was refused.
    request.principal = principal;
    if (principal.scope !== scope) throw new ApiException(403, `This ${API_KEY_HEADER} is not a ${scope} key`);
    return true;
  }

  private identify(presented: string): Principal | null {
    const digest = sha256(presented);
    let found: Principal | null = null;
    for (const candidate of this.credentials) {
      if (timingSafeEqual(candidate.digest, digest) && found === null) found = candidate.principal;
    }
    return found;
  }
}

function credential(key: string, principal: Principal): Credential {
  return { digest: sha256(key), principal };
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The principal ApiKeyGuard identified for this request. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal | undefined =>
    context.switchToHttp().getRequest<FastifyRequest>().principal,
);
