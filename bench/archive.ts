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
 * The journal is on while loading (the store is configured with the archive's MONGODB_URI, as a worker is), so a
 * run is what a night is: it drains the journal (one entry per datum written), then copies the snapshot (every
 * datum again, now already archived: MongoDB finds nothing to change). BENCH_JOURNAL=0 loads with the journal off,
 * as the bench did before: the run is a snapshot only. BENCH_JOURNAL_MAX_BYTES (default 4 GiB) is the journal's
 * bound while loading: the default holds every entry, so none is dropped.
 *
 * MongoDB: MONGODB_URI when set (a database of its own, dropped at the end), otherwise the MongoDB wire server of
 * test/support in a separate process, so its memory is not the service's.
 *
 * Baselines in the same run, each alone, with nothing of the service:
 * - Redis, journal: bare ioredis reading each shard with XRANGE COUNT 500 and deleting each batch (XDEL + DECRBY of
 *   its bytes, one pipeline), on a COPY of the shard made untimed, so the service still finds the journal whole.
 * - Redis, snapshot: SCAN COUNT 500 and one pipeline of the reads a datum needs per batch.
 * - MongoDB: the plain mongodb driver, unordered bulkWrite upserts of 500 documents of the same shape and size (masks
 *   included), same indexes; once into an empty collection (what the journal's drain does), then the same upserts
 *   again (what the snapshot does after it; only the second pass when the journal is off).
 * A run that reads a batch, then writes it, can at best take the sum of those times: the serial ceiling the ratio
 * compares with, phase by phase (the drain's end is read from the service's log) and in total.
 *
 * Wall-clock ratios swing with whatever else runs on the machine, so the bench also prints the CPU time per datum of
 * every process involved: the service (or, for the baselines, the bench process), redis-server and the wire server.
 *
 * Run: npm run bench:archive
 *   (BENCH_RECORDS=1000000; MONGODB_URI=mongodb://127.0.0.1:27017 for a real MongoDB; BENCH_CPU_PROF=<dir> writes a
 *    CPU profile of the service there; BENCH_COMPARE_MAIN=<worktree>/dist/main.js runs an older build's service
 *    first, on the same data, the journal put back and a fresh database for each run; BENCH_SERVICE_NODE_ARGS adds
 *    node flags to the service, e.g. "--trace-gc" or "--max-old-space-size=128", and BENCH_SERVICE_LOG=<path> keeps
 *    its log, to look into a run; BENCH_SERVICE_ENV="NAME=value ..." adds to the service's environment;
 *    BENCH_COMPARE_NODE_ARGS gives BENCH_COMPARE_MAIN's service flags of its own (e.g. "" for none); BENCH_BASELINES=0
 *    skips the baselines and every ratio: the runs alone, for their memory and CPU)
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { AnyBulkWriteOperation, MongoClient } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { ArchivedRecord, ArchivedRecordSchema } from '../src/archive/archive.schemas';
import { loadConfig } from '../src/config/app-config';
import { JournalStore } from '../src/store/journal-store';
import { JOURNAL_SHARDS, KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { renderRecordBody } from '../src/store/record-body';
import { RecordStore, RecordWrite } from '../src/store/record-store';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { cpuMillis, cpuProfileArgs, machineFacts, spawnListening, table } from './support';

const RECORDS = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
const JOURNAL = process.env.BENCH_JOURNAL !== '0';
const JOURNAL_MAX_BYTES = process.env.BENCH_JOURNAL_MAX_BYTES ?? String(4 * 2 ** 30);
/** Extra node flags for the service (--trace-gc, --heap-prof, ...): for looking into a run, not for its figures. */
const SERVICE_NODE_ARGS = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
/** BENCH_SERVICE_ENV="NAME=value ...": more environment for the service (MAX_MESSAGE_BYTES, say). */
const SERVICE_ENV = Object.fromEntries(
  (process.env.BENCH_SERVICE_ENV ?? '')
    .split(' ')
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
/** Node flags for BENCH_COMPARE_MAIN's service when they differ from this build's (default: the same). */
const COMPARE_NODE_ARGS = process.env.BENCH_COMPARE_NODE_ARGS?.split(' ').filter((arg) => arg !== '');
/** Another build's dist/main.js: its run goes first, on the same data (journal restored, a fresh database). */
const COMPARE_MAIN = process.env.BENCH_COMPARE_MAIN;
/** BENCH_BASELINES=0 skips the baselines (and so every ratio): the runs alone, to look into memory quickly. */
const BASELINES = process.env.BENCH_BASELINES !== '0';
const SECRET = 'bench-webhook-secret-0123456789';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const SHARED_EVERY = 4;
const SHARED_KEYS = 3;
const BATCH = 500;
const LOAD_CONCURRENCY = 256;
const TTL_SECONDS = 30 * 86_400;
const PAYLOAD_JSON = JSON.stringify({ orderId: 'A-1001', status: 'shipped', note: 'x'.repeat(160) });
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

/** The store a worker has: journaling every write when the archive is configured (MONGODB_URI set). */
function loadingStore(redis: Redis, mongoUri: string): RecordStore {
  const config = loadConfig({
    APP_ROLES: 'query',
    WEBHOOK_KEY_SECRET: SECRET,
    ...(JOURNAL && { MONGODB_URI: mongoUri, ARCHIVE_JOURNAL_MAX_BYTES: JOURNAL_MAX_BYTES }),
  });
  const keys = new KeyLayout(config.redis.keyPrefix);
  return new RecordStore(redis, keys, new WebhookKeyDigester(SECRET), new JournalStore(redis, keys, config), config);
}

async function load(redis: Redis, mongoUri: string): Promise<number> {
  const store = loadingStore(redis, mongoUri);
  const now = Date.now();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: LOAD_CONCURRENCY }, async () => {
      while (next < RECORDS) {
        const { datumId, webhookKeys, flowId, version, ttlSeconds } = datum(next++);
        const message: RecordWrite = {
          op: 'set',
          accountId: 'bench',
          flowId,
          webhookKeys,
          dataJson: PAYLOAD_JSON,
          version,
        };
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

/** POST /admin/archive/runs, again while the fresh service answers 503 (its Redis connection not ready yet). */
async function startRun(url: string): Promise<{ runId: string }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin<{ runId: string }>(`${url}/admin/archive/runs`, 'POST');
    } catch (error) {
      if (attempt === 50 || !String(error).includes(': 503 ')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** CPU time (ms) of the service, redis-server and the wire server (when it is ours) since `cpuOf` was made. */
function cpuMeter(pids: { redis: number | null; wire: number | null }) {
  const read = (pid: number | null) => (pid === null ? 0 : cpuMillis(pid));
  const start = { redis: read(pids.redis), wire: read(pids.wire), bench: process.cpuUsage() };
  return () => {
    const bench = process.cpuUsage(start.bench);
    return {
      redis: read(pids.redis) - start.redis,
      wire: read(pids.wire) - start.wire,
      bench: (bench.user + bench.system) / 1000,
    };
  };
}

/**
 * Runs the archive in a service (`main`: this build, or BENCH_COMPARE_MAIN's) and samples its memory every 200 ms;
 * one row per tenth of the records, and one at the end.
 */
async function archiveRun(
  redisUrl: string,
  mongoUri: string,
  main: string | undefined,
  pids: { redis: number; wire: number | null },
  nodeArgs: string[],
) {
  const service = await spawnService(
    {
      APP_ROLES: 'admin',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      WEBHOOK_KEY_SECRET: SECRET,
      ADMIN_API_KEYS: ADMIN_KEY,
      MONGODB_URI: mongoUri,
      ARCHIVE_JOURNAL_MAX_BYTES: JOURNAL_MAX_BYTES,
      // The admin role needs queues configured; the archive never uses them (nothing listens there).
      SQS_ENDPOINT: 'http://127.0.0.1:9',
      SQS_QUEUE_URL: 'http://127.0.0.1:9/000000000000/bench.fifo',
      SQS_DLQ_URL: 'http://127.0.0.1:9/000000000000/bench-dlq.fifo',
      ...SERVICE_ENV,
    },
    [...cpuProfileArgs(CPU_PROFILE_DIR, 'archive-service'), ...nodeArgs],
    main,
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
    const serviceCpuBefore = cpuMillis(pid);
    const otherCpu = cpuMeter(pids);
    const started = performance.now();
    const { runId } = await startRun(service.url);
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
        const ms = performance.now() - started;
        // ArchiveRunner logs the end of the drain: "journal drained: <entries> entries in <ms> ms".
        const drained = /journal drained: (\d+) entries in (\d+) ms/.exec(service.output());
        if (drained === null) throw new Error(`no "journal drained" line in the service's log:\n${service.output()}`);
        const drain = { records: Number(drained[1]), ms: Number(drained[2]) };
        const cpu = { service: cpuMillis(pid) - serviceCpuBefore, ...otherCpu() };
        progress.push(row(run.recordsArchived, ms, now));
        if (process.env.BENCH_SERVICE_LOG) writeFileSync(`${process.env.BENCH_SERVICE_LOG}.${pid}`, service.output());
        return { records: run.recordsArchived, ms, drain, cpu, idle, end: now, progress };
      }
    }
  } finally {
    service.child.kill('SIGTERM');
    await service.exited;
  }
}

/** One side alone: records, wall time, and the CPU it took of the bench process, redis-server and the wire server. */
interface Side {
  records: number;
  ms: number;
  cpu: { bench: number; redis: number; wire: number };
}

/** Entries, bytes and drops of the journal's shards (and the stream of before the shards). */
async function journalFacts(redis: Redis): Promise<{ entries: number; bytes: number; dropped: number }> {
  const facts = { entries: 0, bytes: 0, dropped: 0 };
  for (const keys of journalKeys()) {
    const [entries, bytes, dropped] = await Promise.all([
      redis.xlen(keys.stream),
      redis.get(keys.bytes),
      redis.get(keys.dropped),
    ]);
    facts.entries += entries;
    facts.bytes += Number(bytes ?? 0);
    facts.dropped += Number(dropped ?? 0);
  }
  return facts;
}

function journalKeys() {
  return [
    ...Array.from({ length: JOURNAL_SHARDS }, (_, index) => keyLayout.journalShard(index)),
    keyLayout.unshardedJournal(),
  ];
}

/**
 * The Redis side of the drain alone: each shard read the plainest way (XRANGE COUNT 500) and each batch deleted with
 * its bytes (XDEL + DECRBY, one pipeline), on a copy of the shard made and removed untimed.
 */
async function journalBaseline(redis: Redis, redisPid: number): Promise<Side> {
  const copy = { stream: 'bench:journal-copy', bytes: 'bench:journal-copy:bytes' };
  let records = 0;
  let ms = 0;
  const cpuTotal = { bench: 0, redis: 0, wire: 0 };
  for (const keys of journalKeys()) {
    if ((await redis.copy(keys.stream, copy.stream, 'REPLACE')) === 0) continue;
    await redis.set(copy.bytes, (await redis.get(keys.bytes)) ?? '0');
    const cpu = cpuMeter({ redis: redisPid, wire: null });
    const started = performance.now();
    for (;;) {
      const entries = await redis.xrange(copy.stream, '-', '+', 'COUNT', BATCH);
      if (entries.length === 0) break;
      let bytes = 0;
      for (const [, fields] of entries) bytes += Number(fields[fields.indexOf('s') + 1] ?? 0);
      records += entries.length;
      await redis
        .pipeline()
        .xdel(copy.stream, ...entries.map(([id]) => id))
        .decrby(copy.bytes, bytes)
        .exec();
    }
    ms += performance.now() - started;
    const used = cpu();
    cpuTotal.bench += used.bench;
    cpuTotal.redis += used.redis;
    await redis.del(copy.stream, copy.bytes);
  }
  return { records, ms, cpu: cpuTotal };
}

/** The Redis side alone: what a datum needs, read the plainest way (SCAN, one pipeline per batch). */
async function redisBaseline(redis: Redis, redisPid: number): Promise<Side> {
  const cpu = cpuMeter({ redis: redisPid, wire: null });
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
  const ms = performance.now() - started;
  return { records, ms, cpu: cpu() };
}

/**
 * The MongoDB side alone: the plain driver upserting documents of the archive's shape, 500 per bulkWrite. The first
 * pass inserts them (the journal's drain), the second sends the same upserts again (the snapshot after the drain:
 * every datum already archived as it is). Returns each pass's time.
 */
async function mongoBaseline(
  mongoUri: string,
  wirePid: number | null,
): Promise<{ records: number; insert: Side; repeat: Side }> {
  const client = await MongoClient.connect(mongoUri);
  const collection = client.db().collection<ArchivedRecord>('baseline_records');
  await collection.createIndexes(
    ArchivedRecordSchema.indexes().map(([key]) => ({ key: key as Record<string, 1 | -1> })),
  );
  const digester = new WebhookKeyDigester(SECRET);
  const now = Date.now();
  const pass = async (): Promise<Side> => {
    let ms = 0;
    let benchCpu = 0;
    let wireCpu = 0;
    for (let start = 0; start < RECORDS; start += BATCH) {
      const writes: AnyBulkWriteOperation<ArchivedRecord>[] = [];
      for (let index = start; index < Math.min(start + BATCH, RECORDS); index++) {
        const { datumId, webhookKeys, flowId, version, ttlSeconds } = datum(index);
        const expiresAt = ttlSeconds === null ? null : now + ttlSeconds * 1000;
        const body = renderRecordBody({
          accountId: 'bench',
          flowId,
          dataJson: PAYLOAD_JSON,
          version: version ?? null,
          storedAt: now,
          expiresAt,
        });
        const keys = webhookKeys.map((key) => digester.digested(key));
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
                keys: keys.map(({ digests }) => digests[0]),
                ...Object.fromEntries(keys.map(({ digests, mask }) => [`masks.${digests[0]}`, mask])),
              },
              $setOnInsert: { firstArchivedAt: new Date(now), deleted: false, deletedAt: null, replacedAt: null },
            },
            upsert: true,
          },
        });
      }
      const started = performance.now();
      const cpu = cpuMeter({ redis: null, wire: wirePid });
      await collection.bulkWrite(writes, { ordered: false });
      ms += performance.now() - started;
      const used = cpu();
      benchCpu += used.bench;
      wireCpu += used.wire;
    }
    return { records: RECORDS, ms, cpu: { bench: benchCpu, redis: 0, wire: wireCpu } };
  };
  try {
    const insert = await pass();
    const repeat = await pass();
    return { records: RECORDS, insert, repeat };
  } finally {
    await collection.drop();
    await client.close();
  }
}

/** MONGODB_URI, or the wire server of test/support in a process of its own. Each run gets a database of its own. */
async function startMongo(): Promise<{
  uri: string;
  database: string;
  label: string;
  stop: () => Promise<void>;
  pid: number | null;
}> {
  const database = `setgetapi_bench_${randomUUID().slice(0, 8)}`;
  const real = process.env.MONGODB_URI;
  if (real) {
    const uri = withDatabase(real, database);
    return {
      uri,
      database,
      label: `MongoDB at ${new URL(real).host}`,
      pid: null,
      async stop() {
        // The loading store's database (nothing is written there) and the runs' are dropped as each ends.
        const client = await MongoClient.connect(uri);
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
    database,
    label: 'the MongoDB wire server of test/support (in-memory, mingo), separate process',
    pid: wire.child.pid ?? null,
    async stop() {
      wire.child.kill('SIGTERM');
    },
  };
}

/** The same MongoDB URI naming another database. */
function withDatabase(uri: string, database: string): string {
  const url = new URL(uri);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Keeps a copy of the journal (untimed), so that each run of a comparison drains the same one. */
async function saveJournal(redis: Redis, restore = false): Promise<void> {
  for (const keys of journalKeys()) {
    for (const key of [keys.stream, keys.bytes]) {
      if (restore) await redis.copy(`bench:saved:${key}`, key, 'REPLACE');
      else await redis.copy(key, `bench:saved:${key}`, 'REPLACE');
    }
  }
}

type Run = Awaited<ReturnType<typeof archiveRun>>;

async function main(): Promise<void> {
  console.log(`archive benchmark — ${machineFacts()}, ${mib(freemem())} free`);
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const mongo = await startMongo();
  const pids = { redis: redisPid, wire: mongo.pid };
  try {
    const loadMs = await load(redis, mongo.uri);
    const keys = await redis.dbsize();
    const redisMemory = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
    const journal = await journalFacts(redis);
    console.log(
      `${RECORDS} datums (${keys} Redis keys, ${mib(redisMemory)}) loaded through RecordStore in ${seconds(loadMs)}, ` +
        `journal ${JOURNAL ? `on: ${journal.entries} entries, ${mib(journal.bytes)}, ${journal.dropped} dropped` : 'off'}; ` +
        `archive target: ${mongo.label}\n`,
    );

    const baselines = BASELINES ? await measureBaselines(redis, redisPid, mongo, journal.entries) : null;

    const builds: Array<{ label: string; main: string | undefined; nodeArgs: string[] }> = [
      ...(COMPARE_MAIN
        ? [{ label: `BENCH_COMPARE_MAIN`, main: COMPARE_MAIN, nodeArgs: COMPARE_NODE_ARGS ?? SERVICE_NODE_ARGS }]
        : []),
      { label: 'this build', main: undefined, nodeArgs: SERVICE_NODE_ARGS },
    ];
    for (const build of builds) console.log(`${build.label}: node ${build.nodeArgs.join(' ') || '(no flags)'}`);
    if (builds.length > 1) await saveJournal(redis);
    const runs: Array<{ label: string; run: Run }> = [];
    for (const [index, build] of builds.entries()) {
      if (index > 0) await saveJournal(redis, true);
      const uri = withDatabase(mongo.uri, `${mongo.database}_run${index}`);
      const run = await archiveRun(redisServer.url, uri, build.main, pids, build.nodeArgs);
      const archived = await archivedDatums(uri, true);
      if (archived !== RECORDS) throw new Error(`${build.label}: the archive holds ${archived} datums, not ${RECORDS}`);
      const left = await journalFacts(redis);
      if (left.entries !== 0 || left.bytes !== 0) throw new Error(`the run left ${left.entries} journal entries`);
      console.log(`archive run of ${build.label}, service process memory as it went:`);
      console.log(table(run.progress));
      console.log(
        `${build.label}: ${((RECORDS * 1000) / run.ms).toFixed(0)} datums/s (drain ${seconds(run.drain.ms)} of ` +
          `${seconds(run.ms)}), service CPU ${((run.cpu.service * 1000) / RECORDS).toFixed(0)} µs/datum, ` +
          `peak RSS ${mib(run.end.peak)}\n`,
      );
      runs.push({ label: build.label, run });
    }
    if (baselines === null) return;
    const { mongoSide, journalSide, redisSide } = baselines;

    // Phase by phase: what the run took against the sum of its two sides alone (the serial ceiling).
    const drainSides = JOURNAL ? [journalSide, mongoSide.insert] : [];
    const snapshotSides = [redisSide, JOURNAL ? mongoSide.repeat : mongoSide.insert];
    const sum = (sides: Side[]) => sides.reduce((total, side) => total + side.ms, 0);
    const cpuOf = (sides: Side[]) =>
      sides.reduce((total, side) => total + side.cpu.bench + side.cpu.redis + side.cpu.wire, 0);
    const drainCeilingMs = sum(drainSides);
    const snapshotCeilingMs = sum(snapshotSides);
    const ceilingMs = drainCeilingMs + snapshotCeilingMs;
    const ceilingCpu = cpuOf([...drainSides, ...snapshotSides]);
    const line = (what: string, records: number, ms: number, ceiling?: number) => ({
      what,
      records,
      time: seconds(ms),
      'records/s': ((records * 1000) / ms).toFixed(0),
      '÷ ceiling': ceiling === undefined ? '' : (ceiling / ms).toFixed(2),
    });
    console.log(
      table([
        ...(JOURNAL
          ? [
              line('baseline: Redis, journal (XRANGE + XDEL)', journalSide.records, journalSide.ms),
              line('baseline: MongoDB, first upserts (insert)', RECORDS, mongoSide.insert.ms),
              line('ceiling, drain: redis + mongo', journal.entries, drainCeilingMs),
            ]
          : []),
        line('baseline: Redis, snapshot (SCAN + pipelined reads)', redisSide.records, redisSide.ms),
        line(`baseline: MongoDB, ${JOURNAL ? 'same upserts again' : 'upserts (insert)'}`, RECORDS, snapshotSides[1].ms),
        line('ceiling, snapshot: redis + mongo', RECORDS, snapshotCeilingMs),
        line('ceiling, whole run (datums)', RECORDS, ceilingMs),
        ...runs.flatMap(({ label, run }) => [
          ...(JOURNAL ? [line(`${label}: journal drain`, run.drain.records, run.drain.ms, drainCeilingMs)] : []),
          line(`${label}: snapshot, policies, audit`, RECORDS, run.ms - run.drain.ms, snapshotCeilingMs),
          line(`${label}: whole run, POST to succeeded`, RECORDS, run.ms, ceilingMs),
        ]),
      ]),
    );
    const perRecord = (ms: number) => `${((ms * 1000) / RECORDS).toFixed(0)} µs`;
    console.log(
      '\nCPU per datum (µs, the whole run: every process involved; the baselines: the bench process, redis-server' +
        (mongo.pid === null ? ')' : ' and the wire server)'),
    );
    console.log(
      table([
        {
          what: 'baselines (sum)',
          service: '',
          'redis-server': perRecord([...drainSides, ...snapshotSides].reduce((t, side) => t + side.cpu.redis, 0)),
          'wire server': perRecord([...drainSides, ...snapshotSides].reduce((t, side) => t + side.cpu.wire, 0)),
          'bench process': perRecord([...drainSides, ...snapshotSides].reduce((t, side) => t + side.cpu.bench, 0)),
          total: perRecord(ceilingCpu),
        },
        ...runs.map(({ label, run }) => ({
          what: label,
          service: perRecord(run.cpu.service),
          'redis-server': perRecord(run.cpu.redis),
          'wire server': perRecord(run.cpu.wire),
          'bench process': '',
          total: perRecord(run.cpu.service + run.cpu.redis + run.cpu.wire),
        })),
      ]),
    );
    const wirePeak =
      mongo.pid === null ? '' : `; the wire server's peak RSS (not counted): ${mib(memory(mongo.pid).peak)}`;
    for (const { label, run } of runs) {
      console.log(
        `\n${label}: archive ÷ serial ceiling ${(ceilingMs / run.ms).toFixed(2)}, ${((RECORDS * 1000) / run.ms).toFixed(0)} ` +
          `datums/s; recordsArchived ${run.records}; service RSS idle ${mib(run.idle.rss)}, peak ${mib(run.end.peak)} ` +
          `(+${mib(run.end.peak - run.idle.rss)} over idle)`,
      );
    }
    console.log(`${wirePeak.slice(2)}. Figures are noisy on a shared machine.`);
  } finally {
    redis.disconnect();
    await redisServer.destroy();
    await mongo.stop();
  }
}

/** Each side alone (see the header): the journal's and the snapshot's Redis reads, and the MongoDB upserts. */
async function measureBaselines(
  redis: Redis,
  redisPid: number,
  mongo: { uri: string; database: string; pid: number | null },
  journalEntries: number,
): Promise<{ mongoSide: { records: number; insert: Side; repeat: Side }; journalSide: Side; redisSide: Side }> {
  const mongoSide = await mongoBaseline(withDatabase(mongo.uri, `${mongo.database}_baseline`), mongo.pid);
  const journalSide = await journalBaseline(redis, redisPid);
  if (journalSide.records !== journalEntries) throw new Error(`the journal baseline read ${journalSide.records}`);
  const redisSide = await redisBaseline(redis, redisPid);
  if (redisSide.records !== RECORDS) throw new Error(`the Redis baseline found ${redisSide.records} datums`);
  return { mongoSide, journalSide, redisSide };
}

/** Whole datums in the service's archive (documents with a body); then drops the database when asked to. */
async function archivedDatums(mongoUri: string, drop: boolean): Promise<number> {
  const client = await MongoClient.connect(mongoUri);
  try {
    const count = await client
      .db()
      .collection('archived_records')
      .countDocuments({ body: { $exists: true } });
    if (drop) await client.db().dropDatabase();
    return count;
  } finally {
    await client.close();
  }
}

void main();
