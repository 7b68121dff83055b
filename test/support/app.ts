import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AddressInfo } from 'node:net';
import { createApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { QueuePair } from './sqs';

export const ACME = { accountId: 'acme', apiKey: 'producer-key-acme-0001' };
export const GLOBEX = { accountId: 'globex', apiKey: 'producer-key-globex-01' };
export const ADMIN_KEY = 'admin-key-000000000001';
export const WEBHOOK_KEY_SECRET = 'test-webhook-secret-0123456789';

/** The environment of a complete service for one suite's Redis and queues; `overrides` win. */
export function testEnv(
  redisUrl: string,
  queues: QueuePair,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    APP_ROLES: 'all',
    PORT: '0',
    REDIS_URL: redisUrl,
    SQS_ENDPOINT: queues.endpoint,
    SQS_QUEUE_URL: queues.queueUrl,
    SQS_DLQ_URL: queues.dlqUrl,
    SQS_WAIT_TIME_SECONDS: '1',
    SQS_VISIBILITY_TIMEOUT: '2',
    WEBHOOK_KEY_SECRET,
    PRODUCER_API_KEYS: `${ACME.apiKey}:${ACME.accountId},${GLOBEX.apiKey}:${GLOBEX.accountId}`,
    ADMIN_API_KEYS: ADMIN_KEY,
    LOG_LEVEL: 'error',
    // Suites poll for keys that are not there yet far faster than any client should; the suite that tests the
    // limit sets its own.
    READ_MISS_LIMIT_PER_MINUTE: '0',
    ...overrides,
  };
}

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** Base URL of the listening server, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** Boots the real application in this process, listening on a random port. */
export async function startTestApp(env: Record<string, string>): Promise<TestApp> {
  const config = loadConfig(env);
  const app = await createApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, config, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/**
 * Runs `use` against an app of its own, started with `env` and ready (/health/ready 200), closed afterwards: each
 * call is a fresh process state, as a restart would give.
 */
export async function withReadyApp(env: Record<string, string>, use: (app: TestApp) => Promise<void>): Promise<void> {
  const app = await startTestApp(env);
  try {
    await eventually(async () => ((await fetch(`${app.url}/health/ready`)).status === 200 ? true : undefined));
    await use(app);
  } finally {
    await app.close();
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError === undefined ? '' : `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`}`,
  );
}
