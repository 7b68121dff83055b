/**
 * Waiting reads at scale: BENCH_WAITERS (10,000) connections each holding `GET /v1/data` with `Prefer: wait` and
 * the current ETag, on as many keys, for BENCH_HOLD_SECONDS (30). Measured on the service process (APP_ROLES=query,
 * as `npm start` runs it) against a private redis-server:
 *
 * - RSS growth from before the waiters connect to the most it reaches while they are held (goal ≤ 150 MB);
 * - from the end of a write (RecordStore.write, what a worker does) to the waiter's answer, for BENCH_CHANGES keys
 *   changed one at a time across the hold (goal: p99 ≤ 50 ms);
 * - p99 of plain reads (autocannon in a process of its own, 32 connections on one key, latencies to 0.01 ms:
 *   bench/precise-load.cjs) beside the waiters, against the same load run just before they connect (goal: within
 *   1.2×), and once more after they have gone, so that a neighbour's load changing during the run shows as a gap
 *   between the two windows without waiters; with the service's CPU per plain read in each window.
 *
 * Answer times are taken in this process, which holds every waiting socket; its own event-loop delay is part of
 * what is measured, so the figures are an upper bound.
 *
 * Run: npm run bench:waiting      (BENCH_WAITERS=10000 BENCH_HOLD_SECONDS=30 BENCH_CHANGES=1000)
 * Diagnosis: BENCH_PROBE_DIR=<dir> runs the service with bench/loop-probe.cjs (event-loop delay and GC per second,
 * a CPU profile of each plain-read window) and BENCH_PROBE_NODE_ARGS (default --trace-gc; its log is service.log).
 * BENCH_SERVICE_MAIN=<another build>/dist/main.js measures that build instead of this tree's.
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { request as httpRequest } from 'node:http';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { benchRecordReader, benchRecordStore, cpuTimes, machineFacts, table } from './support';

const WAITERS = Number(process.env.BENCH_WAITERS ?? 10_000);
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 30);
const CHANGES = Math.min(Number(process.env.BENCH_CHANGES ?? 1000), WAITERS);
const SECRET = 'bench-webhook-secret-0123456789';
const PAYLOAD = { text: 'x'.repeat(1000) };
const PLAIN_READ_SECONDS = Math.max(5, HOLD_SECONDS - 10);
/** A directory for diagnosis: the service then runs with bench/loop-probe.cjs (see there) and --trace-gc. */
const PROBE_DIR = process.env.BENCH_PROBE_DIR;
/** Another build's dist/main.js to measure instead of this tree's (an older commit built elsewhere), for A/B runs. */
const SERVICE_MAIN = process.env.BENCH_SERVICE_MAIN;

/**
 * Plain reads from a process of their own (bench/precise-load.cjs): 32 connections on one key, latency percentiles
 * to 0.01 ms (autocannon's own are whole milliseconds, too coarse for a 1.2× goal on a p99 of 3–5 ms).
 */
async function plainReads(
  url: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<{ rps: number; samples: number; p50: number; p99: number; p999: number; statuses: Record<string, number> }> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    join(__dirname, 'precise-load.cjs'),
    url,
    String(seconds),
    JSON.stringify(headers),
  ]);
  return JSON.parse(stdout) as Awaited<ReturnType<typeof plainReads>>;
}

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

/** CPU time of a process since `before` (cpuTimes), in ms. */
function cpuSince(pid: number, before: { total: number; system: number }): { total: number; system: number } {
  const now = cpuTimes(pid);
  return { total: now.total - before.total, system: now.system - before.system };
}

const perRead = (cpu: { total: number; system: number }, reads: number) =>
  `${((cpu.total * 1000) / reads).toFixed(1)} (${((cpu.system * 1000) / reads).toFixed(1)})`;

const otherThan200 = (statuses: Record<string, number>) =>
  Object.entries(statuses)
    .filter(([status]) => status !== '200')
    .reduce((sum, [, count]) => sum + count, 0);

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

  if (PROBE_DIR) mkdirSync(PROBE_DIR, { recursive: true });
  const service = await spawnService(
    {
      APP_ROLES: 'query',
      PORT: '0',
      REDIS_URL: redisServer.url,
      WEBHOOK_KEY_SECRET: SECRET,
      LOG_LEVEL: 'info',
      READ_WAIT_MAX_SECONDS: String(HOLD_SECONDS * 4),
      ...(PROBE_DIR ? { LOOP_PROBE_DIR: PROBE_DIR } : {}),
    },
    PROBE_DIR
      ? [
          '--require',
          join(__dirname, 'loop-probe.cjs'),
          ...(process.env.BENCH_PROBE_NODE_ARGS ?? '--trace-gc').split(' '),
        ]
      : [],
    ...(SERVICE_MAIN ? [SERVICE_MAIN] : []),
  );
  const windows: string[] = [];
  const mark = (name: string) => windows.push(`${name}\t${(Date.now() / 1000).toFixed(1)}`);
  const pid = service.child.pid ?? 0;
  const hotKey = keys[keys.length - 1];
  try {
    console.log(`waiting-reads benchmark — ${machineFacts()}`);
    console.log(`${WAITERS} waiters held ${HOLD_SECONDS} s, ${CHANGES} of their keys changed one at a time\n`);
    await plainReads(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, 3);
    mark('alone-start');
    if (PROBE_DIR) service.child.kill('SIGUSR2');
    const cpuBeforeAlone = cpuTimes(pid);
    const alone = await plainReads(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, PLAIN_READ_SECONDS);
    const cpuAlone = cpuSince(pid, cpuBeforeAlone);
    mark('alone-end');
    if (PROBE_DIR) service.child.kill('SIGUSR2');
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

    mark('beside-start');
    if (PROBE_DIR) service.child.kill('SIGUSR2');
    const cpuBeforeBeside = cpuTimes(pid);
    let cpuBeside = { total: 0, system: 0 };
    const beside = plainReads(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, PLAIN_READ_SECONDS).finally(() => {
      cpuBeside = cpuSince(pid, cpuBeforeBeside);
      mark('beside-end');
      if (PROBE_DIR) service.child.kill('SIGUSR2');
    });
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

    // The same load once more after the waiters have gone (A-B-A): a neighbour's load that came or went during the
    // run shows as a difference between the two windows without waiters, instead of passing for the waiters' cost.
    for (const socket of sockets) socket.destroy();
    const releasedBy = Date.now() + 30_000;
    while ((await waiterCount(service.url)) > 0 && Date.now() < releasedBy) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    mark('after-start');
    if (PROBE_DIR) service.child.kill('SIGUSR2');
    const cpuBeforeAfter = cpuTimes(pid);
    const after = await plainReads(`${service.url}/v1/data`, { 'x-webhook-key': hotKey }, PLAIN_READ_SECONDS);
    const cpuAfter = cpuSince(pid, cpuBeforeAfter);
    mark('after-end');
    if (PROBE_DIR) service.child.kill('SIGUSR2');

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
        {
          measure: 'plain reads alone: req/s, samples, p50 / p99 / p99.9',
          value: `${alone.rps}, ${alone.samples}, ${alone.p50} / ${alone.p99} / ${alone.p999} ms`,
        },
        {
          measure: 'plain reads beside the waiters: req/s, samples, p50 / p99 / p99.9',
          value: `${withWaiters.rps}, ${withWaiters.samples}, ${withWaiters.p50} / ${withWaiters.p99} / ${withWaiters.p999} ms (p99 ${(withWaiters.p99 / alone.p99).toFixed(2)}×)`,
        },
        {
          measure: 'plain reads after the waiters left: req/s, samples, p50 / p99 / p99.9',
          value: `${after.rps}, ${after.samples}, ${after.p50} / ${after.p99} / ${after.p999} ms (beside's p99 ${(withWaiters.p99 / after.p99).toFixed(2)}× this)`,
        },
        {
          // Beside, the service also answers the woken waiters (about 2/3 of BENCH_CHANGES fall in the window).
          measure: 'service CPU per plain read, µs (of which kernel), alone / beside / after',
          value: `${perRead(cpuAlone, alone.samples)} / ${perRead(cpuBeside, withWaiters.samples)} / ${perRead(cpuAfter, after.samples)}`,
        },
        {
          measure: 'plain-read answers other than 200, alone / beside / after',
          value: `${otherThan200(alone.statuses)} / ${otherThan200(withWaiters.statuses)} / ${otherThan200(after.statuses)}`,
        },
      ]),
    );
    if (PROBE_DIR) {
      mark('end');
      writeFileSync(join(PROBE_DIR, 'windows.tsv'), windows.join('\n') + '\n');
    }
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
    if (PROBE_DIR) writeFileSync(join(PROBE_DIR, 'service.log'), service.output());
    redis.disconnect();
    await redisServer.destroy();
  }
}

void main();
