/**
 * The store's write path alone, without SQS: RecordStore.write (with the journal on) and the message status, as the
 * worker issues them for bench:ingest's messages (10 concurrent messages, every key new), against one private
 * redis-server. Several source trees (this one and older commits, each a checkout with node_modules linked) take
 * turns batch by batch in the same process and on the same Redis, so that the load of a shared machine falls on
 * all of them alike; each batch's CPU time is read for Redis (/proc/<pid>/schedstat, nanoseconds) and for this
 * process. Steadier than bench:ingest's CPU figures, which move ±15 % between runs on a busy machine.
 *
 * Run: npx ts-node --transpile-only bench/store-write.ts
 *   (BENCH_ROOTS=<tree>,<tree>… (default: this tree), BENCH_KEYS=10, BENCH_BATCHES=40 batches of 100 messages per
 *    tree after 5 warm-up batches; a tree whose src has no message-status-store is run without statuses)
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisServer } from '../test/support/redis-server';
import { machineFacts, table } from './support';

const ROOTS = (process.env.BENCH_ROOTS ?? join(__dirname, '..')).split(',');
const KEYS = Number(process.env.BENCH_KEYS ?? 10);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const MESSAGES_PER_BATCH = 100;
const CONCURRENT = 10;
const SECRET = 'bench-webhook-secret-0123456789';
const PAYLOAD = {
  orderId: 'A-1001',
  lines: Array.from({ length: 8 }, (_, line) => ({ sku: `SKU-${line}`, quantity: line + 1, note: 'x'.repeat(80) })),
};

/** The parts of a tree's store this bench drives: its own classes, loaded from its src. */
interface TreeStore {
  root: string;
  client: Redis;
  write: (index: number) => Promise<void>;
}

function loadTree(root: string, url: string): TreeStore {
  /* eslint-disable @typescript-eslint/no-require-imports -- each tree's own classes, chosen at run time */
  const { loadConfig } = require(join(root, 'src/config/app-config'));
  const { KeyLayout, WebhookKeyDigester } = require(join(root, 'src/store/key-layout'));
  const { RecordStore } = require(join(root, 'src/store/record-store'));
  const { JournalStore } = require(join(root, 'src/store/journal-store'));
  const statusModule = join(root, 'src/store/message-status-store.ts');
  const { MessageStatusStore } = existsSync(statusModule) ? require(statusModule) : { MessageStatusStore: null };
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The journal is written only with MONGODB_URI set; nothing connects to it here.
  const config = loadConfig({
    APP_ROLES: 'query',
    WEBHOOK_KEY_SECRET: SECRET,
    REDIS_URL: url,
    MONGODB_URI: 'mongodb://127.0.0.1:1/x',
  });
  const client = new Redis(url, { enableAutoPipelining: true });
  const keys = new KeyLayout('sg:');
  const store = new RecordStore(
    client,
    keys,
    new WebhookKeyDigester(SECRET),
    new JournalStore(client, keys, config),
    config,
  );
  const statuses = MessageStatusStore === null ? null : new MessageStatusStore(client, keys, config);
  const write = async (index: number): Promise<void> => {
    const message = {
      op: 'set',
      accountId: 'bench',
      flowId: `flow-${index % 500}`,
      webhookKeys: Array.from({ length: KEYS }, (_, key) => `bench-key-${KEYS}-${index}-${key}`),
      dataJson: JSON.stringify({ ...PAYLOAD, sequence: index }),
    };
    let recorded: Promise<void> | undefined;
    await store.write(message, {
      datumId: `bench-message-${index}-0123456789abcdef`,
      ttlSeconds: 3600,
      now: Date.now(),
      sentAt: Date.now(),
      redriven: false,
      alongsideJournal: (counts: unknown) => {
        recorded = statuses?.save([
          {
            messageId: `bench-message-${index}`,
            accountId: 'bench',
            flowId: message.flowId,
            status: 'applied',
            decidedAt: new Date().toISOString(),
            keys: counts,
          },
        ]);
      },
    });
    await recorded;
  };
  return { root: statuses === null ? `${root} (no statuses)` : root, client, write };
}

function redisCpuMicros(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  console.log(machineFacts());
  const redis = await RedisServer.start();
  const info = new Redis(redis.url);
  const pid = Number(/process_id:(\d+)/.exec(await info.info('server'))?.[1]);
  info.disconnect();
  const trees = ROOTS.map((root) => loadTree(root, redis.url));
  let next = 0;
  const batch = async (tree: TreeStore): Promise<{ redis: number; worker: number }> => {
    const redisBefore = redisCpuMicros(pid);
    const workerBefore = process.cpuUsage();
    for (let sent = 0; sent < MESSAGES_PER_BATCH; sent += CONCURRENT) {
      await Promise.all(Array.from({ length: CONCURRENT }, () => tree.write(next++)));
    }
    const worker = process.cpuUsage(workerBefore);
    return {
      redis: (redisCpuMicros(pid) - redisBefore) / MESSAGES_PER_BATCH,
      worker: (worker.user + worker.system) / MESSAGES_PER_BATCH,
    };
  };
  for (let warmUp = 0; warmUp < 5; warmUp++) for (const tree of trees) await batch(tree);
  const figures = trees.map(() => ({ redis: [] as number[], worker: [] as number[] }));
  for (let round = 0; round < BATCHES; round++) {
    const order = trees.map((_, index) => index);
    if (round % 2 === 1) order.reverse();
    for (const index of order) {
      const { redis: redisMicros, worker } = await batch(trees[index]);
      figures[index].redis.push(redisMicros);
      figures[index].worker.push(worker);
    }
  }
  console.log(
    `${KEYS} keys/msg, ${BATCHES} batches of ${MESSAGES_PER_BATCH} per tree, alternating; median of the batches\n`,
  );
  console.log(
    table(
      trees.map((tree, index) => ({
        tree: tree.root,
        'redis-server CPU µs/msg': median(figures[index].redis).toFixed(1),
        'store (Node) CPU µs/msg': median(figures[index].worker).toFixed(1),
      })),
    ),
  );
  for (const tree of trees) tree.client.disconnect();
  await redis.destroy();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
