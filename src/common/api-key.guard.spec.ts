import { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { loadConfig } from '../config/app-config';
import { ApiException } from './api-exception';
import { ApiKeyGuard, RequireApiKey } from './api-key.guard';

const PRODUCER_KEY = 'guard-producer-key-000001';
const ADMIN_KEY = 'guard-admin-key-0000000001';

class Routes {
  @RequireApiKey('admin')
  adminRoute(this: void): void {}

  open(this: void): void {}
}

const guard = new ApiKeyGuard(
  new Reflector(),
  loadConfig({
    APP_ROLES: 'gateway,admin',
    SQS_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/records.fifo',
    SQS_DLQ_URL: 'http://127.0.0.1:4566/000000000000/records-dlq.fifo',
    PRODUCER_API_KEYS: `ingest-acme=${PRODUCER_KEY}:acme`,
    ADMIN_API_KEYS: ADMIN_KEY,
    WEBHOOK_KEY_SECRET: 'guard-webhook-secret-01',
  }),
);

/** The guard's view of one request to a method of Routes. */
function call(handler: keyof Routes, apiKey?: string): { request: FastifyRequest; allowed: () => boolean } {
  const request = { headers: apiKey === undefined ? {} : { 'x-api-key': apiKey } } as FastifyRequest;
  const context = {
    getHandler: () => Routes.prototype[handler],
    getClass: () => Routes,
    switchToHttp: () => ({ getRequest: () => request }),
  } as unknown as ExecutionContext;
  return { request, allowed: () => guard.canActivate(context) };
}

function statusOf(attempt: () => unknown): number | null {
  try {
    attempt();
    return null;
  } catch (error) {
    return error instanceof ApiException ? error.getStatus() : -1;
  }
}

describe('ApiKeyGuard', () => {
  it('lets any request through a route without RequireApiKey', () => {
    expect(call('open').allowed()).toBe(true);
  });

  it('attaches the admin key as its fingerprint id, never the key', () => {
    const { request, allowed } = call('adminRoute', ADMIN_KEY);
    expect(allowed()).toBe(true);
    expect(request.principal).toEqual({
      scope: 'admin',
      id: expect.stringMatching(/^key-[0-9a-f]{12}$/),
      accountId: null,
    });
    expect(JSON.stringify(request.principal)).not.toContain(ADMIN_KEY);
  });

  it('refuses a producer key on an admin route with 403, naming the key by its id for the log', () => {
    const { request, allowed } = call('adminRoute', PRODUCER_KEY);
    expect(statusOf(allowed)).toBe(403);
    expect(request.principal).toEqual({ scope: 'producer', id: 'ingest-acme', accountId: 'acme' });
  });

  it('answers 401 to a missing or unknown key and attaches nobody', () => {
    for (const presented of [undefined, '', 'not-a-configured-key-0001']) {
      const { request, allowed } = call('adminRoute', presented);
      expect(statusOf(allowed)).toBe(401);
      expect(request.principal).toBeUndefined();
    }
  });
});
