/**
 * No hot shard: the built worker (dist/main.js, APP_ROLES=worker, write journal on) applies messages pre-loaded into
 * a FIFO queue (fauxqs, many groups) into a private three-master Redis Cluster, and, alternately in the same run, into
 * one private redis-server. Per master of the cluster it reports, over the timed part (CONFIG RESETSTAT before):
 * - commands executed (INFO commandstats: every call, those made inside scripts included), and the journal's share
 *   (XADD calls: one per journaled write),
 * - CPU the redis-server process spent (INFO cpu, used_cpu_user + used_cpu_sys),
 * - memory used at the end (INFO memory used_memory, after a FLUSHALL before the run) and the journal's streams in it.
 * Goal (issue 16): the busiest master within 1.2× of the least busy, journal included. And the throughput of the
 * cluster against the one server on the same machine: on 2 shared cores three redis-servers compete with the worker
 * and fauxqs for CPU, so the cluster is not expected to be faster here; the ratio shows what it costs.
 *
 * Timed from 10 % consumed to an empty queue; every key is then checked on the masters and the dead-letter queue must
 * be empty.
 *
 * Run: npm run bench:cluster   (BENCH_MESSAGES=4000 BENCH_GROUPS=400 BENCH_ROUNDS=3 BENCH_KEYS=1 BENCH_ACCOUNTS=1)
 */
import 'reflect-metadata';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import { join } from 'node:path';
import { toQueueBody } from '../src/message/queue-body';
import { RecordMessage } from '../src/message/record-message.validation';
import { RedisCluster } from '../test/support/redis-cluster';
import { RedisServer } from '../test/support/redis-server';
import { spawnService } from '../test/support/service-process';
import { createQueuePair, QueuePair, queueDepth } from '../test/support/sqs';
import { formatBytes, machineFacts, spawnListening, table } from './support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 4000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 400);
const KEYS_PER_MESSAGE = Number(process.env.BENCH_KEYS ?? 1);
/**
 * Accounts the messages are spread over. Each message reads its account's TTL policies (one hash per account,
 * `sg:ttl:<accountId>`), so with one account that hash is one hot key on one master, the one thing in the write path
 * that does not spread by slot.
 */
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1);
const SECRET = 'bench-webhook-secret-0123456789';
const VISIBILITY_TIMEOUT_SECONDS = 120;
const WARM_UP = Math.ceil(MESSAGES / 10);
const PAYLOAD = {
  orderId: 'A-1001',
  lines: Array.from({ length: 8 }, (_, line) => ({ sku: `SKU-${line}`, quantity: line + 1, note: 'x'.repeat(80) })),
};

/** What one Redis node did over a timed run. */
interface NodeLoad {
  node: string;
  commands: number;
  xadds: number;
  cpuSeconds: number;
  usedMemory: number;
  journalBytes: number;
}

interface Run {
  rate: number;
  nodes: NodeLoad[];
}

function benchMessage(round: number, index: number): RecordMessage {
  return {
    op: 'set',
    accountId: `bench-${index % ACCOUNTS}`,
    flowId: `flow-${index % GROUPS}`,
    webhookKeys: Array.from({ length: KEYS_PER_MESSAGE }, (_, key) => `bench-${round}-${index}-${key}`),
    dataJson: JSON.stringify({ ...PAYLOAD, sequence: index }),
  };
}

async function preload(sqs: SQSClient, queueUrl: string, round: number): Promise<void> {
  const batches = Math.ceil(MESSAGES / 10);
  await Promise.all(
    Array.from({ length: 8 }, async (_, sender) => {
      for (let batch = sender; batch < batches; batch += 8) {
        const entries = Array.from({ length: Math.min(10, MESSAGES - batch * 10) }, (_, offset) => {
          const message = benchMessage(round, batch * 10 + offset);
          return {
            Id: String(offset),
            MessageBody: toQueueBody(message),
            MessageGroupId: `${message.accountId}:${message.flowId}`,
            MessageDeduplicationId: `${round}-${batch * 10 + offset}`,
          };
        });
        const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        if ((result.Failed ?? []).length > 0) throw new Error(`SendMessageBatch: ${JSON.stringify(result.Failed)}`);
      }
    }),
  );
}

const field = (info: string, name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);

async function cpuSeconds(node: Redis): Promise<number> {
  const info = await node.info('cpu');
  return field(info, 'used_cpu_user') + field(info, 'used_cpu_sys');
}

/**
 * Commands and XADDs since the last CONFIG RESETSTAT (the bench's own INFO and CONFIG calls are one each per node),
 * memory now, the journal streams' share of it.
 */
async function load(node: Redis, cpuBefore: number): Promise<NodeLoad> {
  const stats = await node.info('commandstats');
  const calls = [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)];
  const commands = calls.reduce((total, [, , count]) => total + Number(count), 0);
  const xadds = Number(calls.find(([, name]) => name === 'xadd')?.[2] ?? 0);
  const streams = (await node.keys('sg:{journal*')).filter((key) => !/:(bytes|dropped)$/.test(key));
  const journalBytes = (await Promise.all(streams.map((key) => node.memory('USAGE', key)))).reduce<number>(
    (total, bytes) => total + Number(bytes ?? 0),
    0,
  );
  return {
    node: `${node.options.host}:${node.options.port}`,
    commands,
    xadds,
    cpuSeconds: (await cpuSeconds(node)) - cpuBefore,
    usedMemory: field(await node.info('memory'), 'used_memory'),
    journalBytes,
  };
}

/** One timed run of the worker into the Redis at `env`, whose masters are `masters`. */
async function runWorker(
  sqs: SQSClient,
  fauxqsUrl: string,
  env: Record<string, string>,
  masters: Redis[],
  round: number,
): Promise<Run> {
  await Promise.all(masters.map((node) => node.flushall()));
  const queues: QueuePair = await createQueuePair(sqs, { visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS });
  await preload(sqs, queues.queueUrl, round);
  const worker = await spawnService({
    APP_ROLES: 'worker',
    PORT: '0',
    // spawnService waits for the 'listening on port' line, logged at info.
    LOG_LEVEL: 'info',
    WEBHOOK_KEY_SECRET: SECRET,
    SQS_ENDPOINT: fauxqsUrl,
    SQS_QUEUE_URL: queues.queueUrl,
    SQS_DLQ_URL: queues.dlqUrl,
    SQS_WAIT_TIME_SECONDS: '20',
    SQS_VISIBILITY_TIMEOUT: String(VISIBILITY_TIMEOUT_SECONDS),
    // The journal is written (as with the archive on); a worker-only process never connects to MongoDB.
    MONGODB_URI: 'mongodb://127.0.0.1:27017/setgetapi',
    ...env,
  });
  try {
    let started: { at: number; remaining: number; cpu: number[] } | null = null;
    for (;;) {
      const remaining = await queueDepth(sqs, queues.queueUrl);
      if (started === null && remaining <= MESSAGES - WARM_UP) {
        await Promise.all(masters.map((node) => node.config('RESETSTAT')));
        started = { at: performance.now(), remaining, cpu: await Promise.all(masters.map(cpuSeconds)) };
      }
      if (started !== null && remaining === 0) {
        const seconds = (performance.now() - started.at) / 1000;
        const cpuBefore = started.cpu;
        const nodes = await Promise.all(masters.map((node, index) => load(node, cpuBefore[index])));
        const records = (await Promise.all(masters.map((node) => node.keys('sg:k:*')))).flat().length;
        if (records !== MESSAGES * KEYS_PER_MESSAGE) throw new Error(`${records} of ${MESSAGES} records stored`);
        const deadLetters = await queueDepth(sqs, queues.dlqUrl);
        if (deadLetters !== 0) throw new Error(`${deadLetters} message(s) in the dead-letter queue`);
        return { rate: started.remaining / seconds, nodes };
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    worker.child.kill('SIGTERM');
    const { code } = await worker.exited;
    if (code !== 0) console.error(`the worker exited with ${code}:\n${worker.output().slice(-4000)}`);
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values: number[]) => Math.max(...values) / Math.max(1e-9, Math.min(...values));

async function main(): Promise<void> {
  const fauxqs = await spawnListening(process.execPath, [join(__dirname, 'fauxqs-server.mjs'), '0']);
  const sqs = new SQSClient({
    region: 'us-east-1',
    endpoint: fauxqs.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const cluster = await RedisCluster.start();
  const standalone = await RedisServer.start();
  const clusterMasters = (await cluster.topology())
    .filter((node) => node.role === 'master')
    .map((node) => new Redis(`redis://${node.address}`));
  const standaloneServer = new Redis(standalone.url);
  console.log(`cluster benchmark — ${machineFacts()}`);
  console.log(
    `${MESSAGES} messages per run, ${KEYS_PER_MESSAGE} key(s) each, ${ACCOUNTS} account(s), ${GROUPS} FIFO groups, ` +
      'write journal on; ' +
      `a three-master cluster (no replicas) and one redis-server, alternately, ${ROUNDS} rounds each; timed from ` +
      '10 % consumed to an empty queue\n',
  );
  const clusterRuns: Run[] = [];
  const standaloneRuns: Run[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      clusterRuns.push(
        await runWorker(
          sqs,
          fauxqs.url,
          { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.nodes.join(',') },
          clusterMasters,
          round,
        ),
      );
      standaloneRuns.push(await runWorker(sqs, fauxqs.url, { REDIS_URL: standalone.url }, [standaloneServer], round));
    }
    const last = clusterRuns[clusterRuns.length - 1];
    console.log('Per master, last cluster round:');
    console.log(
      table(
        last.nodes.map((node) => ({
          master: node.node,
          commands: node.commands,
          'journal XADDs': node.xadds,
          'CPU s': node.cpuSeconds.toFixed(2),
          used_memory: formatBytes(node.usedMemory),
          'journal streams': formatBytes(node.journalBytes),
        })),
      ),
    );
    const spreads = (measure: (node: NodeLoad) => number) =>
      clusterRuns.map((run) => spread(run.nodes.map(measure)).toFixed(2)).join(' / ');
    console.log('\nBusiest ÷ least busy master, each cluster round (goal ≤ 1.2):');
    console.log(
      table([
        { measure: 'commands', rounds: spreads((node) => node.commands) },
        { measure: 'journal XADDs', rounds: spreads((node) => node.xadds) },
        { measure: 'redis CPU', rounds: spreads((node) => node.cpuSeconds) },
        { measure: 'used_memory', rounds: spreads((node) => node.usedMemory) },
        { measure: 'journal streams memory', rounds: spreads((node) => node.journalBytes) },
      ]),
    );
    const clusterRate = median(clusterRuns.map((run) => run.rate));
    const standaloneRate = median(standaloneRuns.map((run) => run.rate));
    const commandsPerMessage = (runs: Run[]) =>
      median(runs.map((run) => run.nodes.reduce((total, node) => total + node.commands, 0))) / (MESSAGES - WARM_UP);
    console.log('\nThroughput (median of rounds):');
    console.log(
      table([
        {
          target: 'one redis-server',
          'msg/s': standaloneRate.toFixed(0),
          'rounds msg/s': standaloneRuns.map((run) => run.rate.toFixed(0)).join(' / '),
          'commands/msg': commandsPerMessage(standaloneRuns).toFixed(1),
        },
        {
          target: '3-master cluster',
          'msg/s': clusterRate.toFixed(0),
          'rounds msg/s': clusterRuns.map((run) => run.rate.toFixed(0)).join(' / '),
          'commands/msg': commandsPerMessage(clusterRuns).toFixed(1),
        },
      ]),
    );
    console.log(`\ncluster ÷ one server: ${(clusterRate / standaloneRate).toFixed(2)}`);
  } finally {
    sqs.destroy();
    for (const node of [...clusterMasters, standaloneServer]) node.disconnect();
    await cluster.stop();
    await standalone.destroy();
    fauxqs.child.kill('SIGTERM');
  }
}

void main();
