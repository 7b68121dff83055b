/**
 * Ingest throughput, end to end: messages pre-loaded into a FIFO queue with SendMessageBatch, until every one has
 * been applied to Redis and deleted from the queue, by the built worker (dist/main.js, APP_ROLES=worker) in a child
 * process. Two baselines in the same run, on the same fauxqs, Redis and messages:
 * - the bare loop only receives (batch 10, the worker's wait time and attributes) and deletes each batch with one
 *   DeleteMessageBatch: the ceiling SQS alone allows a single consumer (goal at 1 key: the worker at 0.8 of it);
 * - the fair loop also stores each message's keys with the least Redis work that could: one `SET … EX` per key of
 *   a pre-computed value, pipelined, one round trip per batch, before the delete (goal at 10 and 100 keys: the
 *   worker at 0.8 of it). It skips everything the worker must do on top (validation, digests, ownership, versions,
 *   shared bodies, the journal, statuses), so the gap to it is the price of those guarantees.
 *
 * Key mix: every webhook key is sent once (`bench-key-<keys/msg>-<message>-<k>`, 15–21 ASCII bytes): no key repeats
 * within or across messages, so nothing a worker could cache per key (digests, ownership) helps here, and every
 * write creates its records. Real traffic that updates the same keys again would also exercise the overwrite path.
 *
 * fauxqs runs in a process of its own (bench/fauxqs-server.mjs), Redis is a private redis-server. fauxqs hands out
 * at most one message per FIFO group per receive, so messages are spread over many groups (BENCH_GROUPS), as a
 * busy queue holding many accounts and flows would be. Both consumers are timed from the moment a tenth of the
 * messages is gone (start-up and JIT warm-up excluded) until the queue is empty; then every webhook key is read
 * back and the dead-letter queue must be empty. CPU time of each process (from /proc) shows where the cores went:
 * on a busy 2-core machine the worker is CPU-bound, and CPU per message is the steadier figure. The write journal
 * is on (MONGODB_URI set; a worker-only process never connects to MongoDB), as in a deployment with the archive.
 *
 * fauxqs answers in microseconds; a real SQS endpoint is a network round trip away. BENCH_SQS_LATENCY_MS puts that
 * round trip between fauxqs and both consumers (a forwarder holding each chunk for half of it each way).
 *
 * Run: npm run bench:ingest
 *   (BENCH_MESSAGES=5000 BENCH_GROUPS=500 BENCH_ROUNDS=3 BENCH_KEYS=1,10,100 BENCH_SQS_LATENCY_MS=0;
 *    BENCH_CPU_PROF=<dir> writes a CPU profile of each worker run there;
 *    BENCH_BASELINE_MAIN=<worktree>/dist/main.js also runs that build's worker in every round, alternating with this
 *    one on the same fauxqs and Redis, and prints this worker's msg/s and CPU against it;
 *    BENCH_LOOPS=0 skips both loops (with BENCH_BASELINE_MAIN, to compare two builds' workers alone);
 *    BENCH_NODE_ARGS="--perf-basic-prof" passes Node options to the workers, e.g. for `perf record -p <pid>`, which
 *    samples CPU time only, where a --cpu-prof profile also counts the time a preempted worker waits for a core)
 */
import 'reflect-metadata';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { toQueueBody } from '../src/message/queue-body';
import { RecordMessage } from '../src/message/record-message.validation';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { createQueuePair, QueuePair, queueDepth } from '../test/support/sqs';
import { benchRecordReader, cpuProfileArgs, cpuTimes, machineFacts, spawnListening, table } from './support';

// The SDK warns that its 2027 releases need Node 22; the benchmark runs on the project's Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 500);
const SQS_LATENCY_MS = Number(process.env.BENCH_SQS_LATENCY_MS ?? 0);
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
/** Another build's dist/main.js (an older commit in a worktree of its own), run in every round beside this one. */
const BASELINE_MAIN = process.env.BENCH_BASELINE_MAIN;
/** BENCH_LOOPS=0 skips both loops: for a quicker comparison of two builds' workers alone. */
const LOOPS = process.env.BENCH_LOOPS !== '0';
const KEY_COUNTS = (process.env.BENCH_KEYS ?? '1,10,100').split(',').map(Number);
const SECRET = 'bench-webhook-secret-0123456789';
/** The worker's default long poll: with a full queue a receive returns at once, so it only matters at the end. */
const WAIT_TIME_SECONDS = 20;
const VISIBILITY_TIMEOUT_SECONDS = 120;
const BATCH = 10;
/** Messages consumed before the clock starts. */
const WARM_UP = Math.ceil(MESSAGES / 10);
/** The system attributes the worker asks for (src/ingest/ingest.module.ts), so both consumers receive the same. */
const SYSTEM_ATTRIBUTES = ['MessageGroupId', 'SentTimestamp', 'ApproximateReceiveCount'] as const;
const PAYLOAD = {
  orderId: 'A-1001',
  lines: Array.from({ length: 8 }, (_, line) => ({ sku: `SKU-${line}`, quantity: line + 1, note: 'x'.repeat(80) })),
};

/** The fair loop's value per key: about the size of a stored record body, computed once. */
const FAIR_VALUE = JSON.stringify({ data: { ...PAYLOAD, sequence: 0 }, etag: 'x'.repeat(27), storedAt: Date.now() });
const FAIR_TTL_SECONDS = 3600;

interface Measured {
  messages: number;
  seconds: number;
  /** CPU ms of each process over the timed part, by name (user + system). */
  cpu: Record<string, number>;
  /** The system (kernel) part of `cpu`. */
  systemCpu: Record<string, number>;
}

interface Processes {
  fauxqs: ChildProcess;
  fauxqsUrl: string;
  redis: number;
}

function benchMessage(index: number, keyCount: number): RecordMessage {
  return {
    op: 'set',
    accountId: 'bench',
    flowId: `flow-${index % GROUPS}`,
    webhookKeys: Array.from({ length: keyCount }, (_, key) => `bench-key-${keyCount}-${index}-${key}`),
    dataJson: JSON.stringify({ ...PAYLOAD, sequence: index }),
  };
}

async function preload(sqs: SQSClient, queueUrl: string, keyCount: number): Promise<void> {
  const batches = Array.from({ length: Math.ceil(MESSAGES / BATCH) }, (_, batch) => batch);
  const senders = 8;
  await Promise.all(
    Array.from({ length: senders }, async (_, sender) => {
      for (let position = sender; position < batches.length; position += senders) {
        const first = batches[position] * BATCH;
        const entries = Array.from({ length: Math.min(BATCH, MESSAGES - first) }, (_, offset) => {
          const message = benchMessage(first + offset, keyCount);
          return {
            Id: String(offset),
            MessageBody: toQueueBody(message),
            MessageGroupId: `${message.accountId}:${message.flowId}`,
            MessageDeduplicationId: `${keyCount}-${first + offset}`,
          };
        });
        const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if ((result.Failed ?? []).length > 0)
          throw new Error(`SendMessageBatch failed: ${JSON.stringify(result.Failed)}`);
      }
    }),
  );
}

type CpuReading = Record<string, { total: number; system: number }>;

function cpuOf(pids: Record<string, number>): CpuReading {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuTimes(pid)]));
}

function cpuSince(pids: Record<string, number>, before: CpuReading): Pick<Measured, 'cpu' | 'systemCpu'> {
  const now = cpuOf(pids);
  const names = Object.keys(pids);
  return {
    cpu: Object.fromEntries(names.map((name) => [name, now[name].total - before[name].total])),
    systemCpu: Object.fromEntries(names.map((name) => [name, now[name].system - before[name].system])),
  };
}

/**
 * A ceiling: receive a batch, delete it with one call, again, until the queue is empty. With `redis` (the fair
 * loop), each batch's keys are first stored with one pipelined `SET key value EX ttl` per key, one round trip.
 */
async function loop(sqs: SQSClient, queueUrl: string, processes: Processes, redis: Redis | null): Promise<Measured> {
  const pids = {
    fauxqs: processes.fauxqs.pid ?? 0,
    bench: process.pid,
    ...(redis !== null && { redis: processes.redis }),
  };
  let deleted = 0;
  let started: { at: number; deleted: number; cpu: CpuReading } | null = null;
  while (deleted < MESSAGES) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: BATCH,
        WaitTimeSeconds: WAIT_TIME_SECONDS,
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) continue;
    if (redis !== null) {
      const pipeline = redis.pipeline();
      for (const message of messages) {
        const { webhookKeys } = JSON.parse(message.Body ?? '') as { webhookKeys: string[] };
        for (const key of webhookKeys) pipeline.set(`fair:${key}`, FAIR_VALUE, 'EX', FAIR_TTL_SECONDS);
      }
      const replies = (await pipeline.exec()) ?? [];
      const failed = replies.find(([error]) => error !== null);
      if (failed) throw failed[0] as Error;
    }
    const result = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    if ((result.Failed ?? []).length > 0)
      throw new Error(`DeleteMessageBatch failed: ${JSON.stringify(result.Failed)}`);
    deleted += messages.length;
    if (started === null && deleted >= WARM_UP) started = { at: performance.now(), deleted, cpu: cpuOf(pids) };
  }
  if (started === null) throw new Error('the loop received nothing');
  return {
    messages: deleted - started.deleted,
    seconds: (performance.now() - started.at) / 1000,
    ...cpuSince(pids, started.cpu),
  };
}

/** The worker, from the end of the warm-up until the queue is empty (polled every 20 ms). */
async function runWorker(
  sqs: SQSClient,
  queues: QueuePair,
  redisUrl: string,
  keyCount: number,
  round: number,
  processes: Processes,
  main?: string,
): Promise<Measured> {
  const worker = await spawnService(
    {
      APP_ROLES: 'worker',
      PORT: '0',
      LOG_LEVEL: 'info',
      REDIS_URL: redisUrl,
      WEBHOOK_KEY_SECRET: SECRET,
      SQS_ENDPOINT: processes.fauxqsUrl,
      SQS_QUEUE_URL: queues.queueUrl,
      SQS_DLQ_URL: queues.dlqUrl,
      SQS_WAIT_TIME_SECONDS: String(WAIT_TIME_SECONDS),
      SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT_SECONDS),
      MONGODB_URI: 'mongodb://127.0.0.1:27017/setgetapi',
    },
    [
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      ...cpuProfileArgs(CPU_PROFILE_DIR, `${main === undefined ? 'worker' : 'baseline'}-${keyCount}-keys-${round}`),
    ],
    main,
  );
  const pids = { fauxqs: processes.fauxqs.pid ?? 0, worker: worker.child.pid ?? 0, redis: processes.redis };
  try {
    let started: { at: number; remaining: number; cpu: CpuReading } | null = null;
    for (;;) {
      const remaining = await queueDepth(sqs, queues.queueUrl);
      if (started === null && remaining <= MESSAGES - WARM_UP)
        started = { at: performance.now(), remaining, cpu: cpuOf(pids) };
      if (started !== null && remaining === 0) {
        return {
          messages: started.remaining,
          seconds: (performance.now() - started.at) / 1000,
          ...cpuSince(pids, started.cpu),
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    // Reported, not thrown: a throw here would replace whatever the timed loop above threw.
    if (code !== 0) console.error(`the worker exited with ${code}:\n${worker.output().slice(-4000)}`);
  }
}

/**
 * Every key of every message must read back, and nothing may have gone to the dead-letter queue. The read-back
 * uses this build's reader, so it is skipped (`readBack` false) for an older build, whose layout may differ.
 */
async function verify(
  redis: Redis,
  sqs: SQSClient,
  queues: QueuePair,
  keyCount: number,
  readBack = true,
): Promise<void> {
  const deadLetters = await queueDepth(sqs, queues.dlqUrl);
  if (deadLetters !== 0) throw new Error(`${deadLetters} message(s) in the dead-letter queue`);
  if (!readBack) return;
  const reader = benchRecordReader(redis, SECRET);
  let found = 0;
  for (let start = 0; start < MESSAGES; start += 100) {
    const messages = Array.from({ length: Math.min(100, MESSAGES - start) }, (_, offset) =>
      benchMessage(start + offset, keyCount),
    );
    const keys = messages.flatMap((message) => message.webhookKeys);
    found += (await reader.readMany(keys)).size;
  }
  if (found !== MESSAGES * keyCount) throw new Error(`${found} of ${MESSAGES * keyCount} keys readable`);
}

const rate = (run: Measured) => run.messages / run.seconds;
const cpuPerMessage = (run: Measured, name: string) => (run.cpu[name] * 1000) / run.messages;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

async function main(): Promise<void> {
  const fauxqs = await spawnListening(process.execPath, [join(__dirname, 'fauxqs-server.mjs'), String(SQS_LATENCY_MS)]);
  const redisServer = await RedisServer.start();
  const redis = new Redis(redisServer.url, { enableAutoPipelining: true });
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: fauxqs.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const processes: Processes = { fauxqs: fauxqs.child, fauxqsUrl: fauxqs.url, redis: redisPid };

  console.log(`ingest benchmark — ${machineFacts()}, load average ${loadavg()[0].toFixed(1)} at the start`);
  console.log(
    `${MESSAGES} messages per run over ${GROUPS} FIFO groups, batch ${BATCH}, wait time ${WAIT_TIME_SECONDS} s, ` +
      `data ${Buffer.byteLength(JSON.stringify(PAYLOAD))} B, write journal on, SQS round trip +${SQS_LATENCY_MS} ms; ` +
      'fauxqs, redis-server and the worker are separate processes sharing the cores; timed from 10 % consumed to an ' +
      `empty queue; median of ${ROUNDS} alternating rounds\n`,
  );
  const rows = [];
  const cpuRows = [];
  const baselineRows = [];
  try {
    for (const keyCount of KEY_COUNTS) {
      const bareLoops: Measured[] = [];
      const fairLoops: Measured[] = [];
      const workers: Measured[] = [];
      const baselines: Measured[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        if (LOOPS) {
          const bareQueues = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
          await preload(sqs, bareQueues.queueUrl, keyCount);
          bareLoops.push(await loop(sqs, bareQueues.queueUrl, processes, null));

          const fairQueues = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
          await preload(sqs, fairQueues.queueUrl, keyCount);
          fairLoops.push(await loop(sqs, fairQueues.queueUrl, processes, redis));
          await redis.flushall();
        }

        // This build and the baseline's take turns going first, so that neither always runs on a warmer machine.
        const builds = [
          { main: undefined, runs: workers },
          ...(BASELINE_MAIN === undefined ? [] : [{ main: BASELINE_MAIN, runs: baselines }]),
        ];
        if (round % 2 === 1) builds.reverse();
        for (const { main, runs } of builds) {
          const queues = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
          await preload(sqs, queues.queueUrl, keyCount);
          runs.push(await runWorker(sqs, queues, redisServer.url, keyCount, round, processes, main));
          await verify(redis, sqs, queues, keyCount, main === undefined);
          await redis.flushall();
        }
      }
      const bareRate = median(bareLoops.map(rate));
      const fairRate = median(fairLoops.map(rate));
      const workerRate = median(workers.map(rate));
      const cpu = (runs: Measured[], ...names: string[]) =>
        median(runs.map((run) => names.reduce((sum, name) => sum + cpuPerMessage(run, name), 0)));
      const systemCpu = (runs: Measured[], name: string) =>
        median(runs.map((run) => (run.systemCpu[name] * 1000) / run.messages));
      if (LOOPS) {
        rows.push({
          'keys/msg': keyCount,
          'bare loop msg/s': bareRate.toFixed(0),
          'fair loop msg/s': fairRate.toFixed(0),
          'worker msg/s': workerRate.toFixed(0),
          'ratio to bare': (workerRate / bareRate).toFixed(2),
          'ratio to fair': (workerRate / fairRate).toFixed(2),
          'worker keys/s': (workerRate * keyCount).toFixed(0),
          // CPU of every process involved per message: the steadier figure on a shared machine.
          'CPU ratio to fair': (
            cpu(fairLoops, 'bench', 'fauxqs', 'redis') / cpu(workers, 'worker', 'fauxqs', 'redis')
          ).toFixed(2),
        });
      }
      if (baselines.length > 0) {
        const pairs = workers.map((run, round) => ({ run, baseline: baselines[round] }));
        baselineRows.push({
          'keys/msg': keyCount,
          'baseline msg/s': median(baselines.map(rate)).toFixed(0),
          'this msg/s': workerRate.toFixed(0),
          'msg/s, this ÷ baseline (median of rounds)': median(
            pairs.map(({ run, baseline }) => rate(run) / rate(baseline)),
          ).toFixed(2),
          'worker CPU µs/msg, baseline → this': `${cpu(baselines, 'worker').toFixed(0)} → ${cpu(workers, 'worker').toFixed(0)}`,
          'redis CPU µs/msg, baseline → this': `${cpu(baselines, 'redis').toFixed(0)} → ${cpu(workers, 'redis').toFixed(0)}`,
          rounds: pairs.map(({ run, baseline }) => `${rate(baseline).toFixed(0)}/${rate(run).toFixed(0)}`).join(' '),
        });
      }
      if (LOOPS) {
        cpuRows.push({
          'keys/msg': keyCount,
          'bare loop': cpu(bareLoops, 'bench').toFixed(0),
          'fair loop': cpu(fairLoops, 'bench').toFixed(0),
          worker: cpu(workers, 'worker').toFixed(0),
          'worker (kernel part)': systemCpu(workers, 'worker').toFixed(0),
          'redis (fair loop)': cpu(fairLoops, 'redis').toFixed(0),
          'redis (worker)': cpu(workers, 'redis').toFixed(0),
          'redis kernel part (fair / worker)': `${systemCpu(fairLoops, 'redis').toFixed(0)} / ${systemCpu(workers, 'redis').toFixed(0)}`,
          'fauxqs (bare / fair / worker)': [bareLoops, fairLoops, workers]
            .map((runs) => cpu(runs, 'fauxqs').toFixed(0))
            .join(' / '),
        });
      }
    }
    if (rows.length > 0) {
      console.log(table(rows));
      console.log('\nCPU µs per message, by process:\n');
      console.log(table(cpuRows));
    }
    if (baselineRows.length > 0) {
      console.log(`\nThis worker against ${BASELINE_MAIN} (rounds: baseline/this msg/s):\n`);
      console.log(table(baselineRows));
    }
    console.log(
      '\nratio = worker msg/s ÷ loop msg/s (goal ≥ 0.8: of the bare loop at 1 key, of the fair loop at 10 and 100 keys); ' +
        'CPU ratio = CPU per message of all processes, fair loop ÷ worker (each: itself + fauxqs + redis-server). ' +
        'Figures are noisy on a shared machine.',
    );
  } finally {
    sqs.destroy();
    redis.disconnect();
    await redisServer.destroy();
    fauxqs.child.kill('SIGTERM');
  }
}

void main();
