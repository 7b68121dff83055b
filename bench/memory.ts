/**
 * Redis bytes per datum for the record layouts, measured on a private redis-server:
 *   - "as stored": what RecordStore does (the body of a multi-key message stored once, records pointing at it);
 *   - "copy per key": the alternative, every key's record holding its own copy of the body.
 * Run: npm run bench:memory
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { RecordStore } from '../src/store/record-store';
import { RedisServer } from '../test/support/redis-server';
import { benchRecordStore, formatBytes, machineFacts, table } from './support';

const CASES = [
  { payload: 10, keys: 2 },
  { payload: 10, keys: 10 },
  { payload: 100, keys: 1 },
  { payload: 100, keys: 2 },
  { payload: 100, keys: 10 },
  { payload: 1024, keys: 1 },
  { payload: 1024, keys: 2 },
  { payload: 1024, keys: 10 },
  { payload: 1024, keys: 100 },
  { payload: 16 * 1024, keys: 10 },
];

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1]);
}

async function measure(
  redis: Redis,
  store: RecordStore,
  payload: number,
  keyCount: number,
  copyPerKey: boolean,
): Promise<number> {
  await redis.flushall();
  const datums = Math.max(50, Math.floor(20_000 / keyCount));
  const before = await usedMemory(redis);
  for (let datum = 0; datum < datums; datum++) {
    const webhookKeys = Array.from({ length: keyCount }, (_, index) => `bench-key-${datum}-${index}`);
    const record = {
      op: 'set' as const,
      accountId: 'bench',
      flowId: 'memory',
      data: { text: 'x'.repeat(payload) },
      webhookKeys,
    };
    const context = { ttlSeconds: 3600, now: Date.now() };
    if (copyPerKey) {
      await Promise.all(
        webhookKeys.map((key, index) =>
          store.write({ ...record, webhookKeys: [key] }, { ...context, datumId: `d${datum}-${index}` }),
        ),
      );
    } else {
      await store.write(record, { ...context, datumId: `d${datum}` });
    }
  }
  return ((await usedMemory(redis)) - before) / datums;
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const redis = new Redis(server.url, { enableAutoPipelining: true });
  const store = benchRecordStore(redis, 'bench-secret-0123456789');
  console.log(`Redis memory per datum (used_memory delta / datums, TTL 1 h) — ${machineFacts()}\n`);
  const rows = [];
  for (const { payload, keys } of CASES) {
    const stored = await measure(redis, store, payload, keys, false);
    const copies = await measure(redis, store, payload, keys, true);
    rows.push({
      payload: formatBytes(payload),
      keys,
      'as stored': formatBytes(stored),
      'copy per key': formatBytes(copies),
      'stored / copies': (stored / copies).toFixed(2),
      'as stored, per key': formatBytes(stored / keys),
    });
  }
  console.log(table(rows));
  redis.disconnect();
  await server.destroy();
}

void main();
