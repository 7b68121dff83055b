/**
 * Waiting reads at scale: BENCH_WAITERS (10,000) connections each holding `GET /v1/data` with `Prefer: wait` and
 * the current ETag, on as many keys, for BENCH_HOLD_SECONDS (30). Measured on the service process (APP_ROLES=query,
 * as `npm start` runs it) against a private redis-server:
 *
 * - RSS growth from before the waiters connect to the most it reaches while they are held (goal ≤ 150 MB);
 * - from the end of a write (RecordStore.write, what a worker does) to the waiter's answer, for BENCH_CHANGES keys
 *   changed one at a time across the hold (goal: p99 ≤ 50 ms);
 * - p99 of plain reads (autocannon in a process of its own, 32 connections on one key) beside the waiters, against
 *   the same load run just before they connect (goal: within 1.2×).
 *
 * Answer times are taken in this process, which holds every waiting socket; its own event-loop delay is part of
 * what is measured, so the figures are an upper bound.
 *
 * Run: npm run bench:waiting      (BENCH_WAITERS=10000 BENCH_HOLD_SECONDS=30 BENCH_CHANGES=1000)
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { autocannonProcess, benchRecordReader, benchRecordStore, machineFacts, table } from './support';

const WAITERS = Number(process.env.BENCH_WAITERS ?? 10_000);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 30);
const CHANGES = Math.min(Number(process.env.BENCH_CHANGES ?? 1000), WAITERS);
const SECRET = 'bench-webhook-secret-0123456789';
const PAYLOAD = { text: 'x'.repeat(1000) };
const PLAIN_READ_SECONDS = Math.max(5, HOLD_SECONDS - 10);

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((candidate) => candidate.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}

const percentile = (values: number[], fraction: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * fraction))];

async function metric(url: string, name: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`\\n${name} (\\d+)`).exec(metrics)?.[1] ?? -1);
}

const waiterCount = (url: string) => metric(url, 'setgetapi_query_waiters');
/** V8 heap in use (prom-client's default metrics): what the waiters hold, apart from RSS's unreturned garbage. */
const heapUsed = (url: string) => metric(url, 'nodejs_heap_size_used_bytes');
/** What the read cache holds: each waiter's first read caches its record (1 KiB body), bounded by READ_CACHE_MAX_BYTES. */
const cacheBytes = (url: string) => metric(url, 'setgetapi_read_cache_bytes');

async function main(): Promise<void> {
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  const store = benchRecordStore(redis, SECRET);
  const reader = benchRecordReader(redis, SECRET);
  const keys = Array.from({ length: WAITERS }, (_, index) => `bench-waiting-key-${index}`);
  const write = (key: string, round: number) =>
    store.write(
      {
        op: 'set',
        accountId: 'bench',
        flowId: 'wait',
        webhookKeys: [key],
        dataJson: JSON.stringify({ ...PAYLOAD, round }),
      },
      { datumId: `w${round}-${key}`, ttlSeconds: 3600, now: Date.now() },
    );
  const etags = new Map<string, string>();
  for (let start = 0; start < keys.length; start += 200) {
    await Promise.all(keys.slice(start, start + 200).map((key) => write(key, 0)));
    const reads = await Promise.all(keys.slice(start, start + 200).map((key) => reader.read(key)));
    reads.forEach((read, offset) => {
      if (read.kind !== 'found') throw new Error('seeding failed');
      etags.set(keys[start + offset], read.etag);
    });
  }

  const service = await spawnService({
    APP_ROLES: 'query',
    PORT: '0',
    REDIS_URL: redisServer.url,
    WEBHOOK_KEY_SECRET: SECRET,
    LOG_LEVEL: 'info',
    READ_WAIT_MAX_SECONDS: String(HOLD_SECONDS * 4),
  });
  const pid = service.child.pid ?? 0;
  const hotKey = keys[keys.length - 1];
  try {
    console.log(`waiting-reads benchmark — ${machineFacts()}`);
    console.log(`${WAITERS} waiters held ${HOLD_SECONDS} s, ${CHANGES} of their keys changed one at a time\n`);
    await autocannonProcess(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, 3);
    const alone = await autocannonProcess(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, PLAIN_READ_SECONDS);
    const rssBefore = rssBytes(pid);
    const heapBefore = await heapUsed(service.url);
    const cacheBefore = await cacheBytes(service.url);

    const answeredAt = new Map<string, { at: number; status: number }>();
    const sockets: Array<{ destroy: () => void }> = [];
    const connect = (key: string) => {
      const pending = httpRequest(`${service.url}/v1/data`, {
        agent: false,
        headers: { 'x-webhook-key': key, prefer: `wait=${HOLD_SECONDS * 4}`, 'if-none-match': etags.get(key) },
      });
      pending.on('response', (response) => {
        answeredAt.set(key, { at: performance.now(), status: response.statusCode ?? 0 });
        response.resume();
      });
      pending.on('error', () => undefined);
      pending.end();
      sockets.push(pending);
    };
    // 100 at a time: faster, and some connections overflow the listen backlog (511) and are refused.
    for (let start = 0; start < keys.length; start += 100) {
      for (const key of keys.slice(start, start + 100)) connect(key);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const connectedBy = Date.now() + 60_000;
    while ((await waiterCount(service.url)) < WAITERS && Date.now() < connectedBy) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const held = await waiterCount(service.url);
    const rssHeld = rssBytes(pid);
    const heapHeld = await heapUsed(service.url);
    const cacheHeld = await cacheBytes(service.url);
    let rssPeak = rssBytes(pid);
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(pid))), 250);

    const beside = autocannonProcess(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, PLAIN_READ_SECONDS);
    const appliedAt = new Map<string, number>();
    const interval = (HOLD_SECONDS * 1000) / CHANGES;
    const started = Date.now();
    for (let change = 0; change < CHANGES; change++) {
      const key = keys[change];
      await write(key, 1);
      appliedAt.set(key, performance.now());
      const next = started + (change + 1) * interval;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
    }
    const withWaiters = await beside;
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    const stillWaiting = await waiterCount(service.url);

    const latencies = [...appliedAt].flatMap(([key, applied]) => {
      const answer = answeredAt.get(key);
      return answer === undefined || answer.status !== 200 ? [] : [answer.at - applied];
    });
    const unanswered = CHANGES - latencies.length;
    const wrongEarly = [...answeredAt.keys()].filter((key) => !appliedAt.has(key)).length;
    console.log(
      table([
        { measure: 'waiters held (setgetapi_query_waiters)', value: `${held} (${stillWaiting} after the changes)` },
        { measure: 'RSS before the waiters', value: `${(rssBefore / 1048576).toFixed(1)} MB` },
        { measure: 'RSS growth, peak while held', value: `${((rssPeak - rssBefore) / 1048576).toFixed(1)} MB` },
        {
          measure: 'once all connected: RSS growth / V8 heap growth',
          value: `${((rssHeld - rssBefore) / 1048576).toFixed(1)} / ${((heapHeld - heapBefore) / 1048576).toFixed(1)} MB`,
        },
        {
          measure: 'of which the read cache (records of the waited keys)',
          value: `${((cacheHeld - cacheBefore) / 1048576).toFixed(1)} MB`,
        },
        {
          measure: 'apply → answer, p50 / p99 / max',
          value: `${percentile(latencies, 0.5).toFixed(1)} / ${percentile(latencies, 0.99).toFixed(1)} / ${Math.max(...latencies).toFixed(1)} ms`,
        },
        { measure: 'changed keys not answered 200', value: String(unanswered) },
        { measure: 'unchanged keys answered early', value: String(wrongEarly) },
        { measure: 'plain reads alone: req/s, p50 / p99', value: `${alone.rps}, ${alone.p50} / ${alone.p99} ms` },
        {
          measure: 'plain reads beside the waiters: req/s, p50 / p99',
          value: `${withWaiters.rps}, ${withWaiters.p50} / ${withWaiters.p99} ms (p99 ${(withWaiters.p99 / alone.p99).toFixed(2)}×)`,
        },
      ]),
    );
    for (const socket of sockets) socket.destroy();
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    redis.disconnect();
    await redisServer.destroy();
  }
}

void main();
