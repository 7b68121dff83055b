/**
 * Ingest throughput, end to end: messages pre-loaded into a FIFO queue with SendMessageBatch, until every one has
 * been applied to Redis and deleted from the queue, by the built worker (dist/main.js, APP_ROLES=worker) in a child
 * process. Baseline in the same run, on the same fauxqs: a bare loop that only receives (batch 10, the worker's
 * wait time and attributes) and deletes each batch with one DeleteMessageBatch — the ceiling SQS alone allows a
 * single consumer. Goal (issue 5): the worker at 0.8 of that loop or better.
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
 *    BENCH_CPU_PROF=<dir> writes a CPU profile of each worker run there)
 */
import 'reflect-metadata';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { toQueueBody } from '../src/message/queue-body';
import { RecordMessage } from '../src/message/record-message.validation';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { createQueuePair, QueuePair } from '../test/support/sqs';
import { benchRecordReader, cpuMillis, cpuProfileArgs, machineFacts, spawnListening, table } from './support';

// The SDK warns that its 2027 releases need Node 22; the benchmark runs on the project's Node 20 on purpose.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 500);
const SQS_LATENCY_MS = Number(process.env.BENCH_SQS_LATENCY_MS ?? 0);
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF;
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

interface Measured {
  messages: number;
  seconds: number;
  /** CPU ms of each process over the timed part, by name. */
  cpu: Record<string, number>;
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

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        QueueAttributeName.ApproximateNumberOfMessages,
        QueueAttributeName.ApproximateNumberOfMessagesNotVisible,
      ],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

function cpuOf(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMillis(pid)]));
}

function cpuSince(pids: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const now = cpuOf(pids);
  return Object.fromEntries(Object.keys(pids).map((name) => [name, now[name] - before[name]]));
}

/** The ceiling: receive a batch, delete it with one call, again, until the queue is empty. */
async function rawLoop(sqs: SQSClient, queueUrl: string, processes: Processes): Promise<Measured> {
  const pids = { fauxqs: processes.fauxqs.pid ?? 0, bench: process.pid };
  let deleted = 0;
  let started: { at: number; deleted: number; cpu: Record<string, number> } | null = null;
  while (deleted < MESSAGES) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: BATCH,
        WaitTimeSeconds: WAIT_TIME_SECONDS,
        VisibilityTimeout: VISIBILITY_TIMEOUT_SECONDS,
        MessageSystemAttributeNames: [...SYSTEM_ATTRIBUTES],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) continue;
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
    cpu: cpuSince(pids, started.cpu),
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
    cpuProfileArgs(CPU_PROFILE_DIR, `worker-${keyCount}-keys-${round}`),
  );
  const pids = { fauxqs: processes.fauxqs.pid ?? 0, worker: worker.child.pid ?? 0, redis: processes.redis };
  try {
    let started: { at: number; remaining: number; cpu: Record<string, number> } | null = null;
    for (;;) {
      const remaining = await depth(sqs, queues.queueUrl);
      if (started === null && remaining <= MESSAGES - WARM_UP)
        started = { at: performance.now(), remaining, cpu: cpuOf(pids) };
      if (started !== null && remaining === 0) {
        return {
          messages: started.remaining,
          seconds: (performance.now() - started.at) / 1000,
          cpu: cpuSince(pids, started.cpu),
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

/** Every key of every message must read back, and nothing may have gone to the dead-letter queue. */
async function verify(redis: Redis, sqs: SQSClient, queues: QueuePair, keyCount: number): Promise<void> {
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
  const deadLetters = await depth(sqs, queues.dlqUrl);
  if (deadLetters !== 0) throw new Error(`${deadLetters} message(s) in the dead-letter queue`);
}

const rate = (run: Measured) => run.messages / run.seconds;
const cpuPerMessage = (run: Measured, name: string) => (run.cpu[name] * 1000) / run.messages;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

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

  console.log(`ingest benchmark — ${machineFacts()}`);
  console.log(
    `${MESSAGES} messages per run over ${GROUPS} FIFO groups, batch ${BATCH}, wait time ${WAIT_TIME_SECONDS} s, ` +
      `data ${Buffer.byteLength(JSON.stringify(PAYLOAD))} B, write journal on, SQS round trip +${SQS_LATENCY_MS} ms; ` +
      'fauxqs, redis-server and the worker are separate processes sharing the cores; timed from 10 % consumed to an ' +
      `empty queue; median of ${ROUNDS} alternating rounds\n`,
  );
  const rows = [];
  try {
    for (const keyCount of KEY_COUNTS) {
      const loops: Measured[] = [];
      const workers: Measured[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const loopQueues = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
        await preload(sqs, loopQueues.queueUrl, keyCount);
        loops.push(await rawLoop(sqs, loopQueues.queueUrl, processes));

        const queues = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
        await preload(sqs, queues.queueUrl, keyCount);
        workers.push(await runWorker(sqs, queues, redisServer.url, keyCount, round, processes));
        await verify(redis, sqs, queues, keyCount);
        await redis.flushall();
      }
      const loopRate = median(loops.map(rate));
      const workerRate = median(workers.map(rate));
      const cpu = (runs: Measured[], ...names: string[]) =>
        median(runs.map((run) => names.reduce((sum, name) => sum + cpuPerMessage(run, name), 0)));
      rows.push({
        'keys/msg': keyCount,
        'loop msg/s': loopRate.toFixed(0),
        'worker msg/s': workerRate.toFixed(0),
        ratio: (workerRate / loopRate).toFixed(2),
        'worker keys/s': (workerRate * keyCount).toFixed(0),
        'loop CPU µs/msg': cpu(loops, 'bench').toFixed(0),
        'worker CPU µs/msg': cpu(workers, 'worker').toFixed(0),
        'redis CPU µs/msg': cpu(workers, 'redis').toFixed(0),
        'fauxqs CPU µs/msg (loop / worker)': `${cpu(loops, 'fauxqs').toFixed(0)} / ${cpu(workers, 'fauxqs').toFixed(0)}`,
        // CPU of every process involved per message: the steadier figure on a shared machine.
        'CPU ratio': (cpu(loops, 'bench', 'fauxqs') / cpu(workers, 'worker', 'fauxqs', 'redis')).toFixed(2),
      });
    }
    console.log(table(rows));
    console.log(
      '\nratio = worker msg/s ÷ loop msg/s (goal ≥ 0.8); CPU ratio = CPU per message of all processes, loop ÷ worker ' +
        '(the loop: itself + fauxqs; the worker: itself + fauxqs + redis-server). Figures are noisy on a shared machine.',
    );
  } finally {
    sqs.destroy();
    redis.disconnect();
    await redisServer.destroy();
    fauxqs.child.kill('SIGTERM');
  }
}

void main();
