/**
 * The archive (issue 3) at scale: BENCH_RECORDS datums (1,000,000 by default) in a private redis-server, archived by
 * the built service (dist/main.js, APP_ROLES=admin) through POST /admin/archive/runs, polled with GET
 * /admin/archive/runs/:id. Prints records/s and the service process's resident memory as the run goes (VmRSS and
 * VmHWM from /proc): a streaming archive keeps it flat however many records there are.
 *
 * Data: three in four datums belong to a single webhook key (the body inside the key's record), one in four is
 * shared by three keys (one body, a reference hash, three records), written through RecordStore so the layout is the
 * service's own; one in five has no TTL.
 *
 * MongoDB: MONGODB_URI when set (a database of its own, dropped at the end), otherwise the MongoDB wire server of
 * test/support in a separate process, so its memory is not the service's.
 *
 * Baselines in the same run, each alone, with nothing of the service: the Redis side (bare ioredis: SCAN COUNT 500
 * and one pipeline of the reads a datum needs per batch) and the MongoDB side (the plain mongodb driver: unordered
 * bulkWrite upserts of 500 documents of the same shape and size, same indexes). A run that reads a batch, then
 * writes it, can at best reach 1 / (1/redis + 1/mongo) records/s: the serial ceiling the ratio compares with.
 *
 * Run: npm run bench:archive
 *   (BENCH_RECORDS=1000000; MONGODB_URI=mongodb://127.0.0.1:27017 for a real MongoDB; BENCH_CPU_PROF=<dir> writes a
 *    CPU profile of the service there)
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { AnyBulkWriteOperation, MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { ArchivedRecord, ArchivedRecordSchema } from '../src/archive/archive.schemas';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { renderRecordBody } from '../src/store/record-body';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { benchRecordStore, cpuProfileArgs, machineFacts, spawnListening, table } from './support';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
const SECRET = 'bench-webhook-secret-0123456789';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const SHARED_EVERY = 4;
const SHARED_KEYS = 3;
const BATCH = 500;
const LOAD_CONCURRENCY = 256;
const TTL_SECONDS = 30 * 86_400;
const PAYLOAD = { orderId: 'A-1001', status: 'shipped', note: 'x'.repeat(160) };
const keyLayout = new KeyLayout('sg:');

interface Datum {
  datumId: string;
  webhookKeys: string[];
  flowId: string;
  version: number | undefined;
  ttlSeconds: number | null;
}

function datum(index: number): Datum {
  const keyCount = index % SHARED_EVERY === 0 ? SHARED_KEYS : 1;
  return {
    datumId: `bench-datum-${index}`,
    webhookKeys: Array.from({ length: keyCount }, (_, key) => `bench-archive-key-${index}-${key}`),
    flowId: `flow-${index % 100}`,
    version: index % 2 === 0 ? index : undefined,
    ttlSeconds: index % 5 === 0 ? null : TTL_SECONDS,
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function load(redis: Redis): Promise<number> {
  const store = benchRecordStore(redis, SECRET);
  const now = Date.now();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < RECORDS) {
        const { datumId, webhookKeys, flowId, version, ttlSeconds } = datum(next++);
        const message = { op: 'set' as const, accountId: 'bench', flowId, webhookKeys, data: PAYLOAD, version };
        await store.write(message, { datumId, ttlSeconds, now });
      }
    }),
  );
  return performance.now() - started;
}

/** Resident memory of a process now and at its peak, from /proc. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

interface ArchiveRunView {
  status: 'running' | 'succeeded' | 'failed';
  recordsArchived: number;
  error?: string;
}

async function admin<T>(url: string, method: 'GET' | 'POST'): Promise<T> {
  const response = await fetch(url, { method, headers: { 'x-api-key': ADMIN_KEY } });
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Runs the archive in the service and samples its memory every 200 ms; one row per tenth of the records. */
async function archiveRun(redisUrl: string, mongoUri: string) {
  const service = await spawnService(
    {
      APP_ROLES: 'admin',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      WEBHOOK_KEY_SECRET: SECRET,
      ADMIN_API_KEYS: ADMIN_KEY,
      MONGODB_URI: mongoUri,
    },
    cpuProfileArgs(CPU_PROFILE_DIR, 'archive-service'),
  );
  const pid = service.child.pid ?? 0;
  try {
    const idle = memory(pid);
    const row = (records: number, ms: number, { rss, peak }: { rss: number; peak: number }) => ({
      'records archived': records,
      elapsed: seconds(ms),
      RSS: mib(rss),
      'peak RSS': mib(peak),
    });
    const progress = [row(0, 0, idle)];
    const started = performance.now();
    const { runId } = await admin<{ runId: string }>(`${service.url}/admin/archive/runs`, 'POST');
    let nextMark = RECORDS / 10;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const run = await admin<ArchiveRunView>(`${service.url}/admin/archive/runs/${runId}`, 'GET');
      const now = memory(pid);
      if (run.recordsArchived >= nextMark) {
        progress.push(row(run.recordsArchived, performance.now() - started, now));
        while (nextMark <= run.recordsArchived) nextMark += RECORDS / 10;
      }
      if (run.status === 'failed') throw new Error(`archive run failed: ${run.error}`);
      if (run.status === 'succeeded') {
        return { records: run.recordsArchived, ms: performance.now() - started, idle, end: now, progress };
      }
    }
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

/** The Redis side alone: what a datum needs, read the plainest way (SCAN, one pipeline per batch). */
async function redisBaseline(redis: Redis): Promise<{ records: number; ms: number }> {
  const started = performance.now();
  let records = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', 'sg:*', 'COUNT', BATCH);
    cursor = next;
    const pipeline = redis.pipeline();
    const kinds: Array<'record' | 'datum'> = [];
    for (const key of keys) {
      if (keyLayout.digestOfRecord(key) !== null) {
        pipeline.hmget(key, 'a', 'd', 'b', 'h').pexpiretime(key);
        kinds.push('record');
      } else {
        const datumId = keyLayout.datumIdOf(key);
        if (datumId === null) continue;
        pipeline.get(key).hkeys(keyLayout.datumRefs(datumId)).pexpiretime(key);
        kinds.push('datum');
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    let reply = 0;
    // A shared body's keys' masks live in their records: a second pipeline, as the service needs it too.
    const masks = redis.pipeline();
    for (const kind of kinds) {
      if (kind === 'record') {
        const [, fields] = replies[reply];
        if ((fields as Array<string | null>)[2] !== null) records++;
        reply += 2;
      } else {
        records++;
        for (const field of replies[reply + 1][1] as string[]) {
          if (field.includes('|')) masks.hget(keyLayout.record(field.slice(0, field.indexOf('|'))), 'h');
        }
        reply += 3;
      }
    }
    await masks.exec();
  } while (cursor !== '0');
  return { records, ms: performance.now() - started };
}

/** The MongoDB side alone: the plain driver upserting documents of the archive's shape, 500 per bulkWrite. */
async function mongoBaseline(mongoUri: string): Promise<{ records: number; ms: number }> {
  const client = await MongoClient.connect(mongoUri);
  const collection = client.db().collection<ArchivedRecord>('baseline_records');
  await collection.createIndexes(
    ArchivedRecordSchema.indexes().map(([key]) => ({ key: key as Record<string, 1 | -1> })),
  );
  const digester = new WebhookKeyDigester(SECRET);
  const now = Date.now();
  let ms = 0;
  try {
    for (let start = 0; start < RECORDS; start += BATCH) {
      const writes: AnyBulkWriteOperation<ArchivedRecord>[] = [];
      for (let index = start; index < Math.min(start + BATCH, RECORDS); index++) {
        const { datumId, webhookKeys, flowId, version, ttlSeconds } = datum(index);
        const expiresAt = ttlSeconds === null ? null : now + ttlSeconds * 1000;
        const body = renderRecordBody({
          accountId: 'bench',
          flowId,
          dataJson: JSON.stringify(PAYLOAD),
          version: version ?? null,
          storedAt: now,
          expiresAt,
        });
        writes.push({
          updateOne: {
            filter: { _id: datumId },
            update: {
              $set: {
                accountId: 'bench',
                flowId,
                version: version ?? null,
                storedAt: new Date(now),
                expiresAt: expiresAt === null ? null : new Date(expiresAt),
                body: body.json,
                keys: webhookKeys.map((key) => digester.digest(key)),
              },
              $setOnInsert: { firstArchivedAt: new Date(now), deleted: false, deletedAt: null, replacedAt: null },
            },
            upsert: true,
          },
        });
      }
      const started = performance.now();
      await collection.bulkWrite(writes, { ordered: false });
      ms += performance.now() - started;
    }
    return { records: RECORDS, ms };
  } finally {
    await collection.drop();
    await client.close();
  }
}

/** MONGODB_URI, or the wire server of test/support in a process of its own. */
async function startMongo(): Promise<{ uri: string; label: string; stop: () => Promise<void>; pid: number | null }> {
  const database = `setgetapi_bench_${randomUUID().slice(0, 8)}`;
  const real = process.env.MONGODB_URI;
  if (real) {
    const uri = new URL(real);
    uri.pathname = `/${database}`;
    return {
      uri: uri.toString(),
      label: `MongoDB at ${uri.host}`,
      pid: null,
      async stop() {
        const client = await MongoClient.connect(uri.toString());
        await client.db().dropDatabase();
        await client.close();
      },
    };
  }
  const wire = await spawnListening(process.execPath, [
    // The wire server keeps every document in its heap.
    '--max-old-space-size=16384',
    '-r',
    require.resolve('ts-node/register/transpile-only'),
    join(__dirname, '..', 'test', 'support', 'mongo-wire-server-cli.ts'),
  ]);
  return {
    uri: `mongodb://127.0.0.1:${wire.port}/${database}?directConnection=true`,
    label: 'the MongoDB wire server of test/support (in-memory, mingo), separate process',
    pid: wire.child.pid ?? null,
    async stop() {
      wire.child.kill('SIGTERM');
    },
  };
}

async function main(): Promise<void> {
  console.log(`archive benchmark — ${machineFacts()}, ${mib(freemem())} free`);
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  const mongo = await startMongo();
  try {
    const loadMs = await load(redis);
    const keys = await redis.dbsize();
    const redisMemory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    console.log(
      `${RECORDS} datums (${keys} Redis keys, ${mib(redisMemory)}) loaded through RecordStore in ${seconds(loadMs)}; ` +
        `archive target: ${mongo.label}\n`,
    );

    const mongoSide = await mongoBaseline(mongo.uri);
    const redisSide = await redisBaseline(redis);
    if (redisSide.records !== RECORDS) throw new Error(`the Redis baseline found ${redisSide.records} datums`);
    const run = await archiveRun(redisServer.url, mongo.uri);
    if (run.records !== RECORDS) throw new Error(`the archive run archived ${run.records} records`);

    console.log('archive run, service process memory as it went:');
    console.log(table(run.progress));
    const rate = (side: { records: number; ms: number }) => (side.records * 1000) / side.ms;
    const ceiling = 1 / (1 / rate(redisSide) + 1 / rate(mongoSide));
    const line = (what: string, recordsPerSecond: number) => ({
      what,
      'records/s': recordsPerSecond.toFixed(0),
      time: seconds((RECORDS * 1000) / recordsPerSecond),
    });
    console.log('');
    console.log(
      table([
        line('baseline: Redis side (SCAN + pipelined reads)', rate(redisSide)),
        line('baseline: MongoDB side (driver bulkWrite upserts)', rate(mongoSide)),
        line('serial ceiling 1/(1/redis + 1/mongo)', ceiling),
        line('archive run (POST to succeeded)', rate(run)),
      ]),
    );
    const wirePeak =
      mongo.pid === null ? '' : `; the wire server's peak RSS (not counted): ${mib(memory(mongo.pid).peak)}`;
    console.log(
      `\narchive ÷ serial ceiling: ${(rate(run) / ceiling).toFixed(2)}; service RSS idle ${mib(run.idle.rss)}, peak ` +
        `${mib(run.end.peak)} (+${mib(run.end.peak - run.idle.rss)} over idle)${wirePeak}. Figures are noisy on a shared machine.`,
    );
  } finally {
    redis.disconnect();
    await redisServer.destroy();
    await mongo.stop();
  }
}

void main();
