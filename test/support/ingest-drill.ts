import Redis from 'ioredis';
import request from 'supertest';
import { ACME, eventually, TestApp } from './app';
import { Harness, useHarness } from './harness';
import { StandaloneRedis } from './redis-target';

/**
 * Sets up a drill in the calling describe block: a private redis-server, FIFO queues that allow `maxReceiveCount`
 * receives with `visibilityTimeoutSeconds`, which the services also receive with, and `workers` apps: the first
 * runs every role, any further ones only the worker role, on the same queue.
 */
export function useDrill(options: {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
  workers?: number;
}): () => Harness<StandaloneRedis> {
  const { workers = 1, ...queues } = options;
  return useHarness({
    queues,
    env: { SQS_VISIBILITY_TIMEOUT: String(queues.visibilityTimeoutSeconds) },
    apps: 1,
    workers: workers - 1,
  });
}

/** Sends one record through the gateway; resolves with the HTTP status. */
export async function submitRecord(
  service: TestApp,
  flowId: string,
  webhookKey: string,
  data: unknown,
): Promise<number> {
  const response = await request(service.url)
    .post('/v1/records')
    .set('x-api-key', ACME.apiKey)
    .send({ accountId: ACME.accountId, flowId, webhookKeys: [webhookKey], data });
  return response.status;
}

/** The data stored under each key (100 keys per batch-get); undefined while any is missing. */
export async function readAll(service: TestApp, keys: string[]): Promise<Record<string, unknown> | undefined> {
  const found: Record<string, unknown> = {};
  for (let start = 0; start < keys.length; start += 100) {
    const response = await request(service.url)
      .post('/v1/data/batch-get')
      .send({ webhookKeys: keys.slice(start, start + 100) });
    if (response.status !== 200 || response.body.missing.length > 0) return undefined;
    for (const [key, item] of Object.entries(response.body.items as Record<string, { data: unknown }>))
      found[key] = item.data;
  }
  return found;
}

/** The value of one metric series in /metrics text (0 when absent). */
export async function metricValue(service: TestApp, series: string): Promise<number> {
  const text = (await request(service.url).get('/metrics')).text;
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Waits until /health/ready shows the worker paused for `reason`; returns that check. */
export function pausedFor(service: TestApp, reason: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const check = (await request(service.url).get('/health/ready')).body?.checks?.ingest;
      return check?.reason === reason ? (check as Record<string, unknown>) : undefined;
    },
    timeoutMs,
    `the worker to show it is paused for ${reason}`,
  );
}

/** Samples Redis's used_memory every few milliseconds until stopped; returns the highest seen. */
export function watchPeakMemory(redis: Redis): { stop(): Promise<number> } {
  let peak = 0;
  let watching = true;
  const loop = (async () => {
    while (watching) {
      const info = await redis.info('memory');
      peak = Math.max(peak, Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return peak;
    },
  };
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function inParallel<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  });
  await Promise.all(lanes);
}
