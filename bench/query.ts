/**
 * GET /v1/data against two references in the same run, on the same private redis-server: the ceiling, bare Fastify
 * answering a constant 1 KiB buffer (bench/constant-route-server.mjs), and the baseline, bare Fastify + ioredis
 * doing one HMAC of the webhook key and one Redis GET (bench/baseline-query-server.mjs). The service is measured
 * with its read cache (hot keys: the same 1,000 keys read over and over) and, as a second process, without it
 * (READ_CACHE_MAX_BYTES=0: cold keys, every read goes to Redis), and as a third process during a rotation of the
 * secret (WEBHOOK_KEY_SECRETS: a newer secret first, the keys under the older one; compared with the cold reads,
 * since no record is cached while a rotation lasts); then POST /v1/data/batch-get of 100 keys. A further
 * server, the baseline's work as a minimal Nest route (bench/nest-floor-query-server.ts), shows how much of the gap
 * is Nest's own per-request machinery. Every server runs as a separate process (the service as `npm start` runs
 * it, APP_ROLES=query).
 *
 * By default everything shares the machine's cores, as in the harness the issue's goal was set in. With
 * BENCH_PIN=1 (two or more cores, taskset available) the servers are pinned to core 1 and the load generator and
 * Redis to core 0, which measures the servers' own cost. CPU time per request of the server process (from /proc)
 * is reported beside throughput: it is the steadier figure. Each target gets a warm-up, then BENCH_ROUNDS
 * alternating runs; medians are reported.
 *
 * Run: npm run bench:query      (BENCH_SECONDS=8 BENCH_ROUNDS=3 BENCH_CONNECTIONS=32 BENCH_PIN=0 BENCH_CPU_PROF=<dir>)
 */
import 'reflect-metadata';
import autocannon, { Request } from 'autocannon';
import Redis from 'ioredis';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { WebhookKeyDigester } from '../src/store/key-layout';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { benchRecordReader, benchRecordStore, machineFacts, table } from './support';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECRET = 'bench-webhook-secret-0123456789';
const KEYS = 1000;
const PAYLOAD = { text: 'x'.repeat(1000) };

interface Target {
  name: string;
  url: string;
  pid: number;
  requests: Request[];
}

interface Run {
  rps: number;
  /** Commands Redis ran per request during the run (every server's: only the target is under load). */
  redisCommandsPerRequest: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  errors: number;
}

const pinning = process.env.BENCH_PIN === '1' && cpus().length >= 2 && hasTaskset();

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pin(pid: number, core: number): void {
  if (pinning) execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
function cpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Commands Redis has run so far, INFO commandstats' calls summed (the INFO calls themselves included). */
async function redisCommands(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
}

async function run(target: Target, seconds: number, redis: Redis): Promise<Run> {
  const commandsBefore = await redisCommands(redis);
  const before = cpuMillis(target.pid);
  const result = await autocannon({
    url: target.url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: target.requests,
  });
  const cpu = cpuMillis(target.pid) - before;
  const commands = (await redisCommands(redis)) - commandsBefore;
  return {
    rps: Math.round(result.requests.average),
    redisCommandsPerRequest: Math.round((commands * 100) / result.requests.total) / 100,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: Math.round((cpu * 1000 * 10) / result.requests.total) / 10,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

/** Reads each of a target's GET requests once, 32 at a time. */
async function prime(target: Target): Promise<void> {
  const gets = target.requests.filter((request) => request.method === 'GET');
  for (let start = 0; start < gets.length; start += 32) {
    await Promise.all(
      gets.slice(start, start + 32).map(async (request) => {
        const response = await fetch(`${target.url}${request.path}`, {
          headers: request.headers as Record<string, string>,
        });
        await response.arrayBuffer();
      }),
    );
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Starts one of the reference servers (they print `listening on port N`) with the bench's Redis and secret. */
function startReference(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const port = /listening on port (\d+)/.exec(chunk.toString())?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}` });
    });
  });
}

const reads = (keys: string[]): Request[] =>
  keys.map((key) => ({ method: 'GET', path: '/v1/data', headers: { 'x-webhook-key': key } }));

async function seed(redis: Redis, single: string[], shared: string[]): Promise<void> {
  const store = benchRecordStore(redis, SECRET);
  const digester = new WebhookKeyDigester(SECRET);
  const now = Date.now();
  for (const [index, key] of single.entries()) {
    await store.write(
      { op: 'set', accountId: 'bench', flowId: 'query', webhookKeys: [key], dataJson: JSON.stringify(PAYLOAD) },
      { datumId: `s${index}`, ttlSeconds: 3600, now },
    );
    const read = await benchRecordReader(redis, SECRET).read(key);
    if (read.kind !== 'found') throw new Error(`seeding ${key} failed`);
    await redis.set(`bl:${digester.digest(key)}`, read.body);
  }
  for (let start = 0; start < shared.length; start += 10) {
    const webhookKeys = shared.slice(start, start + 10);
    await store.write(
      { op: 'set', accountId: 'bench', flowId: 'query', webhookKeys, dataJson: JSON.stringify(PAYLOAD) },
      { datumId: `m${start}`, ttlSeconds: 3600, now },
    );
  }
}

async function main(): Promise<void> {
  pin(process.pid, 0);
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  const single = Array.from({ length: KEYS }, (_, index) => `bench-single-key-${index}`);
  const shared = Array.from({ length: KEYS }, (_, index) => `bench-shared-key-${index}`);
  await seed(redis, single, shared);

  const constant = await startReference([join(__dirname, 'constant-route-server.mjs')]);
  const baseline = await startReference([join(__dirname, 'baseline-query-server.mjs'), redisServer.url, SECRET]);
  const floor = await startReference([
    require.resolve('ts-node/dist/bin.js'),
    '--transpile-only',
    join(__dirname, 'nest-floor-query-server.ts'),
    redisServer.url,
    SECRET,
  ]);
  const serviceEnv = {
    APP_ROLES: 'query',
    PORT: '0',
    REDIS_URL: redisServer.url,
    WEBHOOK_KEY_SECRET: SECRET,
    LOG_LEVEL: 'info',
  };
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the cached service (hot reads and batch-get), written when it stops.
  const profile = process.env.BENCH_CPU_PROF;
  const service = await spawnService(serviceEnv, profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []);
  const uncached = await spawnService({ ...serviceEnv, READ_CACHE_MAX_BYTES: '0' });
  // A rotation of the secret under way: a newer secret first, the keys still under the older one. Reads look under
  // both (no cache while a rotation lasts), in the same tick: one round trip, two HMGETs.
  const { WEBHOOK_KEY_SECRET: _single, ...withoutSecret } = serviceEnv;
  const rotating = await spawnService({
    ...withoutSecret,
    WEBHOOK_KEY_SECRETS: `bench-newer-secret-0123456789,${SECRET}`,
  });
  for (const child of [constant.child, baseline.child, floor.child, service.child, uncached.child, rotating.child]) {
    pin(child.pid ?? 0, 1);
  }
  const batchBody = JSON.stringify({ webhookKeys: [...single.slice(0, 50), ...shared.slice(0, 50)] });
  const targets: Target[] = [
    {
      name: 'ceiling: Fastify, constant 1 KiB',
      url: constant.url,
      pid: constant.child.pid ?? 0,
      requests: reads(single),
    },
    {
      name: 'baseline: Fastify + HMAC + GET',
      url: baseline.url,
      pid: baseline.child.pid ?? 0,
      requests: reads(single),
    },
    {
      name: 'floor: minimal Nest route, same work',
      url: floor.url,
      pid: floor.child.pid ?? 0,
      requests: reads(single),
    },
    { name: 'hot: GET /v1/data, single-key', url: service.url, pid: service.child.pid ?? 0, requests: reads(single) },
    {
      name: 'hot: GET /v1/data, 10-key shared',
      url: service.url,
      pid: service.child.pid ?? 0,
      requests: reads(shared),
    },
    {
      name: 'cold: GET /v1/data, single-key',
      url: uncached.url,
      pid: uncached.child.pid ?? 0,
      requests: reads(single),
    },
    {
      name: 'cold: GET /v1/data, 10-key shared',
      url: uncached.url,
      pid: uncached.child.pid ?? 0,
      requests: reads(shared),
    },
    {
      name: 'rotation: GET /v1/data, single-key',
      url: rotating.url,
      pid: rotating.child.pid ?? 0,
      requests: reads(single),
    },
    {
      name: 'POST /v1/data/batch-get, 100 keys',
      url: service.url,
      pid: service.child.pid ?? 0,
      requests: [
        {
          method: 'POST',
          path: '/v1/data/batch-get',
          headers: { 'content-type': 'application/json' },
          body: batchBody,
        },
      ],
    },
  ];

  console.log(`query benchmark — ${machineFacts()}`);
  console.log(
    `${CONNECTIONS} connections, ${SECONDS} s per run, median of ${ROUNDS} rounds after a warm-up, 1 KiB payload; ` +
      (pinning ? 'servers pinned to core 1, load generator and Redis to core 0\n' : 'all processes share the cores\n'),
  );
  try {
    // Every key read once before the warm-up: "hot" means the cache holds the 1,000 keys. Without it the timed runs
    // began with the keys the warm-up had not reached, each missed by all 32 connections at once (autocannon starts
    // every connection at the first request of the list), which measured first reads, not hot ones.
    for (const target of targets) await prime(target);
    for (const target of targets) await run(target, 3, redis);
    const runs = new Map<Target, Run[]>(targets.map((target) => [target, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) runs.get(target)?.push(await run(target, SECONDS, redis));
    }
    const rows = targets.map((target) => {
      const results = runs.get(target) ?? [];
      return {
        target: target.name,
        'req/s': median(results.map((result) => result.rps)),
        'p50 ms': median(results.map((result) => result.p50)),
        'p99 ms': median(results.map((result) => result.p99)),
        'CPU µs/req': median(results.map((result) => result.cpuMicrosPerRequest)),
        'Redis cmd/req': median(results.map((result) => result.redisCommandsPerRequest)),
        errors: results.reduce((sum, result) => sum + result.errors, 0),
      };
    });
    console.log(table(rows));
    const [ceiling, base, floorRow, hotSingle, hotShared, coldSingle, coldShared, rotationRow, batchRow] = rows;
    const ratio = (row: (typeof rows)[number], reference: (typeof rows)[number]) =>
      `${(row['req/s'] / reference['req/s']).toFixed(2)} (CPU efficiency ${(reference['CPU µs/req'] / row['CPU µs/req']).toFixed(2)})`;
    console.log(
      `\nhot single-key: ${ratio(hotSingle, ceiling)} of the ceiling (goal ≥ 0.8), ${ratio(hotSingle, base)} of the baseline (goal ≥ 1.2)`,
    );
    console.log(`hot shared: ${ratio(hotShared, ceiling)} of the ceiling, ${ratio(hotShared, base)} of the baseline`);
    console.log(`cold single-key: ${ratio(coldSingle, base)} of the baseline (goal ≥ 0.9)`);
    console.log(`cold shared: ${ratio(coldShared, base)} of the baseline (goal ≥ 0.9)`);
    console.log(
      `rotation (two secrets, keys under the older): ${ratio(rotationRow, coldSingle)} of cold single-key, p50 ` +
        `${rotationRow['p50 ms']} vs ${coldSingle['p50 ms']} ms (goal: no second round trip)`,
    );
    console.log(`Nest's own floor — minimal route: ${ratio(floorRow, base)} of the baseline`);
    console.log(`batch-get: ${batchRow['req/s'] * 100} keys/s`);
  } finally {
    constant.child.kill('SIGTERM');
    baseline.child.kill('SIGTERM');
    floor.child.kill('SIGTERM');
    service.child.kill('SIGTERM');
    uncached.child.kill('SIGTERM');
    rotating.child.kill('SIGTERM');
    await Promise.all([service.exited, uncached.exited, rotating.exited]);
    redis.disconnect();
    await redisServer.destroy();
  }
}

void main();
