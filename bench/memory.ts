/**
 * Redis bytes per datum for the record layouts, measured on a private redis-server:
 *   - "as stored": what RecordStore does (the body of a multi-key message stored once, records pointing at it);
 *   - "copy per key": the alternative, every key's record holding its own copy of the body.
 * Then the cost of one more key of a shared datum (1 KiB, from 10 to 100 keys) beside the floor of any layout that
 * gives each webhook key a Redis key of its own with its own expiry: `SET <digest-sized name> <8 bytes> EX`, the
 * least a key with a TTL costs in this Redis.
 * Run: npm run bench:memory
 */
import 'reflect-metadata';
import Redis from 'ioredis';
import { RecordStore, RecordWrite } from '../src/store/record-store';
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
    // Typed, so that a field the store no longer reads is a compile error rather than a body written without data.
    const record: RecordWrite = {
      op: 'set',
      accountId: 'bench',
      flowId: 'memory',
      dataJson: JSON.stringify({ text: 'x'.repeat(payload) }),
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

/** A key name as long as a record's (`sg:k:` and a 43-character digest). */
const DIGEST_SIZED_NAME = `sg:k:${'x'.repeat(43)}`;

async function keyWithTtlFloor(redis: Redis): Promise<number> {
  await redis.flushall();
  const count = 20_000;
  const before = await usedMemory(redis);
  for (let start = 0; start < count; start += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, n) =>
        redis.set(`${DIGEST_SIZED_NAME.slice(0, -8)}${String(start + n).padStart(8, '0')}`, '12345678', 'EX', 3600),
      ),
    );
  }
  return ((await usedMemory(redis)) - before) / count;
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

  const at10 = await measure(redis, store, 1024, 10, false);
  const at100 = await measure(redis, store, 1024, 100, false);
  const floor = await keyWithTtlFloor(redis);
  const perExtraKey = (at100 - at10) / 90;
  console.log(
    `\none more key of a shared 1 KiB datum: ${perExtraKey.toFixed(0)} B; floor (SET of a ${DIGEST_SIZED_NAME.length}-byte ` +
      `name, 8-byte value, EX): ${floor.toFixed(0)} B; ratio ${(perExtraKey / floor).toFixed(2)}`,
  );
  redis.disconnect();
  await server.destroy();
}

void main();
