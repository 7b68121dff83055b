import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { loadConfig } from '../src/config/app-config';
import { ConfigModule } from '../src/config/config.module';
import { RecordMessage } from '../src/message/record-message.validation';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordStore } from '../src/store/record-store';
import { applyRecordKeys, RedisClient } from '../src/store/redis-client';
import { StoreModule } from '../src/store/store.module';
import { WEBHOOK_KEY_SECRET } from './support/app';
import { RedisServer } from './support/redis-server';

/** The record store against a real Redis: how bodies are shared between keys, and that none is ever leaked. */
describe('RecordStore layout and reference counting', () => {
  let redis: RedisServer;
  let context: INestApplicationContext;
  let store: RecordStore;
  let client: RedisClient;
  let inspect: Redis;
  const keys = new KeyLayout('sg:');
  const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);
  const large = { text: 'x'.repeat(1024) };
  let sequence = 0;

  const message = (webhookKeys: string[], data: unknown, extra: Partial<RecordMessage> = {}): RecordMessage => ({
    op: 'set',
    accountId: 'acme',
    flowId: 'layout',
    webhookKeys,
    dataJson: JSON.stringify(data),
    ...extra,
  });
  const write = (record: RecordMessage, ttlSeconds: number | null, datumId = `m-${++sequence}`) =>
    store.write(record, { datumId, ttlSeconds, now: Date.now() });
  const allKeys = async () => (await inspect.keys('sg:*')).sort();
  const recordKey = (webhookKey: string) => keys.record(digester.digest(webhookKey));

  beforeAll(async () => {
    redis = await RedisServer.start();
    const config = loadConfig({ APP_ROLES: 'query', REDIS_URL: redis.url, WEBHOOK_KEY_SECRET, LOG_LEVEL: 'error' });
    context = await (await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), StoreModule] }).compile()).init();
    store = context.get(RecordStore);
    client = context.get(getRedisConnectionToken());
    inspect = new Redis(redis.url);
    await new Promise((resolve) => client.once('ready', resolve));
  });

  beforeEach(() => inspect.flushall());

  afterAll(async () => {
    await context?.close();
    inspect?.disconnect();
    await redis?.destroy();
  });

  it('stores a large body of a multi-key message once, with every key pointing at it, all expiring together', async () => {
    const webhookKeys = Array.from({ length: 10 }, (_, index) => `layout-key-${index}`);
    expect(await write(message(webhookKeys, large), 3600, 'm-shared')).toEqual({ applied: 10, stale: 0, foreign: [], journalTrimmed: 0 });

    const datum = keys.datum('m-shared');
    const refs = keys.datumRefs('m-shared');
    expect(await allKeys()).toEqual([datum, refs, ...webhookKeys.map(recordKey)].sort());
    expect((await inspect.hkeys(refs)).sort()).toEqual(webhookKeys.map((key) => digester.digest(key)).sort());
    const expiry = await inspect.pexpiretime(datum);
    expect(expiry).toBeGreaterThan(Date.now());
    expect(await inspect.pexpiretime(refs)).toBe(expiry);
    for (const key of webhookKeys) {
      expect(await inspect.hexists(recordKey(key), 'b')).toBe(0);
      expect(await inspect.pexpiretime(recordKey(key))).toBe(expiry);
      const read = await store.read(key);
      expect(read.kind === 'found' && read.body.toString()).toBe(await inspect.get(datum));
    }
  });

  it('keeps the body of a single-key message in its record, and shares even a tiny body between two keys', async () => {
    await write(message(['single-key-01'], large), 3600);
    expect(await allKeys()).toEqual([recordKey('single-key-01')]);
    const single = await store.read('single-key-01');
    expect(single.kind === 'found' && single.body.toString()).toBe(await inspect.hget(recordKey('single-key-01'), 'b'));

    await write(message(['small-key-01', 'small-key-02'], 1), 3600, 'm-tiny');
    expect(await inspect.exists(keys.datum('m-tiny'), keys.datumRefs('m-tiny'))).toBe(2);
    const read = await store.read('small-key-02');
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data).toBe(1);
  });

  it('frees a body without TTL once its last key has moved on, leaving nothing behind', async () => {
    const [a, b, c] = ['moving-key-a', 'moving-key-b', 'moving-key-c'];
    await write(message([a, b, c], large), null, 'm-first');
    await write(message([a, b], { ...large, second: true }), null, 'm-second');
    expect(await inspect.hkeys(keys.datumRefs('m-first'))).toEqual([digester.digest(c)]);

    await write(message([c], 'third'), null, 'm-third');
    expect(await allKeys()).toEqual(
      [keys.datum('m-second'), keys.datumRefs('m-second'), recordKey(a), recordKey(b), recordKey(c)].sort(),
    );
    for (const key of await allKeys()) expect(await inspect.pttl(key)).toBe(-1);
  });

  it('deletes keys, frees their shared body, and keeps only short-lived tombstones', async () => {
    const webhookKeys = ['deleted-key-a', 'deleted-key-b'];
    await write(message(webhookKeys, large), null, 'm-deleted');
    expect(await write(message(webhookKeys, undefined, { op: 'delete' }), null)).toEqual({ applied: 2, stale: 0, foreign: [], journalTrimmed: 0 });

    expect(await allKeys()).toEqual(webhookKeys.map(recordKey).sort());
    for (const key of webhookKeys) {
      expect(await inspect.hgetall(recordKey(key))).toEqual({ o: 'm-deleted' });
      const ttl = await inspect.pttl(recordKey(key));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(24 * 3600 * 1000);
      expect(await store.read(key)).toEqual({ kind: 'missing' });
    }
    // The key is free again: another account may take it, and any version applies.
    expect(await write(message([webhookKeys[0]], 'new owner', { accountId: 'globex', version: 0 }), 60)).toEqual({
      applied: 1,
      stale: 0,
      foreign: [],
      journalTrimmed: 0,
    });
  });

  it('replays a message harmlessly, and a replay repeats the release an interrupted attempt did not reach', async () => {
    const webhookKeys = ['replay-key-a', 'replay-key-b'];
    await write(message(webhookKeys, large), null, 'm-old');
    const next = message(webhookKeys, { ...large, next: true });

    // First attempt of m-new dies after pointing the keys at its body, before releasing m-old.
    const body = JSON.stringify({ interrupted: true });
    await client.attachDatum(keys.datum('m-new'), keys.datumRefs('m-new'), body, '0', ...webhookKeys.map((key) => digester.digest(key)));
    expect(
      await applyRecordKeys(client, webhookKeys.map(recordKey), ['set', 'acme', '', 'm-new', '"e"', '', '0', '1000']),
    ).toEqual(['applied', 'm-old', 'm-old', '0', 'applied', 'm-old', 'm-old', '0']);
    expect(await inspect.exists(keys.datum('m-old'))).toBe(1);

    expect(await write(next, null, 'm-new')).toEqual({ applied: 2, stale: 0, foreign: [], journalTrimmed: 0 });
    expect(await inspect.exists(keys.datum('m-old'), keys.datumRefs('m-old'))).toBe(0);
    const afterReplay = await allKeys();
    expect(await write(next, null, 'm-new')).toEqual({ applied: 2, stale: 0, foreign: [], journalTrimmed: 0 });
    expect(await allKeys()).toEqual(afterReplay);
    const read = await store.read('replay-key-b');
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data.next).toBe(true);
  });

  it('drops stale and foreign keys from the references of the body they were not given', async () => {
    await write(message(['guarded-key-1'], 'v5', { version: 5 }), 3600);
    await write(message(['guarded-key-2'], 'globex', { accountId: 'globex' }), 3600);
    const outcome = await write(message(['guarded-key-1', 'guarded-key-2', 'guarded-key-3'], large, { version: 3 }), 3600, 'm-guarded');
    expect(outcome).toEqual({ applied: 1, stale: 1, foreign: [digester.digest('guarded-key-2')], journalTrimmed: 0 });
    expect(await inspect.hkeys(keys.datumRefs('m-guarded'))).toEqual([digester.digest('guarded-key-3')]);
    const kept = await store.read('guarded-key-1');
    expect(kept.kind === 'found' && JSON.parse(kept.body.toString()).data).toBe('v5');
  });

  it('applies a message of more keys than one script call takes, each outcome counted for its own key', async () => {
    const webhookKeys = Array.from({ length: 250 }, (_, index) => `chunked-key-${index}`);
    const foreignPositions = [5, 150, 240];
    await write(message(foreignPositions.map((position) => webhookKeys[position]), 'globex', { accountId: 'globex' }), 3600);
    await write(message([webhookKeys[120]], 'v9', { version: 9 }), 3600);

    const outcome = await write(message(webhookKeys, large, { version: 3 }), 3600, 'm-chunked');
    expect(outcome).toEqual({
      applied: 246,
      stale: 1,
      foreign: foreignPositions.map((position) => digester.digest(webhookKeys[position])),
      journalTrimmed: 0,
    });
    const appliedKeys = webhookKeys.filter((_, position) => position !== 120 && !foreignPositions.includes(position));
    expect((await inspect.hkeys(keys.datumRefs('m-chunked'))).sort()).toEqual(appliedKeys.map((key) => digester.digest(key)).sort());
    const readData = async (webhookKey: string) => {
      const read = await store.read(webhookKey);
      return read.kind === 'found' ? JSON.parse(read.body.toString()).data : read.kind;
    };
    expect(await readData(webhookKeys[120])).toBe('v9');
    expect(await readData(webhookKeys[150])).toBe('globex');
    expect(await readData(webhookKeys[249])).toEqual(large);
  });

  it('sends the apply script again to a Redis that no longer holds it, as after a restart', async () => {
    expect(await write(message(['reloaded-key-1', 'reloaded-key-2'], 'before'), 3600)).toMatchObject({ applied: 2 });
    await inspect.script('FLUSH');
    expect(await write(message(['reloaded-key-1', 'reloaded-key-2'], 'after'), 3600)).toMatchObject({ applied: 2 });
    const read = await store.read('reloaded-key-2');
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data).toBe('after');
  });

  it('frees the body at once when every key of the message is rejected', async () => {
    await write(message(['taken-key-1', 'taken-key-2'], 'globex', { accountId: 'globex' }), 3600);
    const outcome = await write(message(['taken-key-1', 'taken-key-2'], large), 3600, 'm-rejected');
    expect(outcome.applied).toBe(0);
    expect(await inspect.exists(keys.datum('m-rejected'), keys.datumRefs('m-rejected'))).toBe(0);
  });

  it('reads many keys, inline and shared, in one call', async () => {
    await write(message(['many-key-1', 'many-key-2'], large), 3600);
    await write(message(['many-key-3'], 'inline'), 3600);
    const found = await store.readMany(['many-key-1', 'many-key-2', 'many-key-3', 'many-key-4']);
    expect([...found.keys()]).toEqual(['many-key-1', 'many-key-2', 'many-key-3']);
    expect(found.get('many-key-1')?.equals(found.get('many-key-2') ?? Buffer.alloc(0))).toBe(true);
    expect(JSON.parse(found.get('many-key-3')?.toString() ?? '{}').data).toBe('inline');
  });
});
