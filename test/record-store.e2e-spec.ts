import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import { loadConfig } from '../src/config/app-config';
import { ConfigModule } from '../src/config/config.module';
import { RecordMessage } from '../src/message/record-message.validation';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordReader } from '../src/store/record-reader';
import { attachedDigests, parseKeyReply, RecordStore } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { applyRecordKeys, RedisClient } from '../src/store/redis-client';
import { StoreModule } from '../src/store/store.module';
import { DependencyUnavailableError } from '../src/common/dependency-unavailable.error';
import { eventually, WEBHOOK_KEY_SECRET } from './support/app';
import { RedisServer, usePrivateRedis } from './support/redis-server';

/** The store module alone against Redis, with `env` as its configuration, once its connection is ready. */
async function startStoreContext(env: Record<string, string>): Promise<INestApplicationContext> {
  const config = loadConfig({ APP_ROLES: 'query', LOG_LEVEL: 'error', ...env });
  const context = await (
    await Test.createTestingModule({ imports: [ConfigModule.forRoot(config), StoreModule] }).compile()
  ).init();
  const client = context.get<RedisClient>(getRedisConnectionToken());
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  return context;
}

/** The record store against a real Redis: how bodies are shared between keys, and that none is ever leaked. */
describe('RecordStore layout and reference counting', () => {
  let redis: RedisServer;
  let context: INestApplicationContext;
  let store: RecordStore;
  let reader: RecordReader;
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
  /** The digests of the keys attached to a shared body (its references hash also holds `#e` and `#x`). */
  const attached = async (datumId: string) => attachedDigests(await inspect.hkeys(keys.datumRefs(datumId))).sort();
  const newKeyName = (name: string) => `wh-${name}-${++sequence}`;
  /** The `data` a read of `webhookKey` returns, as JSON text; null when the key reads as missing. */
  const readData = async (webhookKey: string) => {
    const result = await reader.read(webhookKey);
    return result.kind === 'found'
      ? JSON.stringify((JSON.parse(result.body.toString()) as { data: unknown }).data)
      : null;
  };
  const digestsOf = (webhookKeys: string[]) => webhookKeys.map((key) => digester.digest(key)).sort();

  beforeAll(async () => {
    redis = await RedisServer.start();
    context = await startStoreContext({ REDIS_URL: redis.url, WEBHOOK_KEY_SECRET });
    store = context.get(RecordStore);
    reader = context.get(RecordReader);
    client = context.get(getRedisConnectionToken());
    inspect = new Redis(redis.url);
  });

  beforeEach(() => inspect.flushall());

  afterAll(async () => {
    await context?.close();
    inspect?.disconnect();
    await redis?.destroy();
  });

  it('stores a large body of a multi-key message once, with every key pointing at it, all expiring together', async () => {
    const webhookKeys = Array.from({ length: 10 }, (_, index) => `layout-key-${index}`);
    expect(await write(message(webhookKeys, large), 3600, 'm-shared')).toEqual({
      applied: 10,
      stale: 0,
      foreign: [],
      journalTrimmed: 0,
    });

    const datum = keys.datum('m-shared');
    const refs = keys.datumRefs('m-shared');
    expect(await allKeys()).toEqual([datum, refs, ...webhookKeys.map(recordKey)].sort());
    expect(await attached('m-shared')).toEqual(digestsOf(webhookKeys));
    const expiry = await inspect.pexpiretime(datum);
    expect(expiry).toBeGreaterThan(Date.now());
    expect(await inspect.pexpiretime(refs)).toBe(expiry);
    for (const key of webhookKeys) {
      expect(await inspect.hexists(recordKey(key), 'b')).toBe(0);
      expect(await inspect.pexpiretime(recordKey(key))).toBe(expiry);
      const read = await reader.read(key);
      expect(read.kind === 'found' && read.body.toString()).toBe(await inspect.get(datum));
    }
  });

  it('keeps the body of a single-key message in its record, and shares even a tiny body between two keys', async () => {
    await write(message(['single-key-01'], large), 3600);
    expect(await allKeys()).toEqual([recordKey('single-key-01')]);
    const single = await reader.read('single-key-01');
    expect(single.kind === 'found' && single.body.toString()).toBe(await inspect.hget(recordKey('single-key-01'), 'b'));

    await write(message(['small-key-01', 'small-key-02'], 1), 3600, 'm-tiny');
    expect(await inspect.exists(keys.datum('m-tiny'), keys.datumRefs('m-tiny'))).toBe(2);
    const read = await reader.read('small-key-02');
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data).toBe(1);
  });

  it('frees a body without TTL once its last key has moved on, leaving nothing behind', async () => {
    const [a, b, c] = ['moving-key-a', 'moving-key-b', 'moving-key-c'];
    await write(message([a, b, c], large), null, 'm-first');
    await write(message([a, b], { ...large, second: true }), null, 'm-second');
    expect(await attached('m-first')).toEqual([digester.digest(c)]);

    await write(message([c], 'third'), null, 'm-third');
    expect(await allKeys()).toEqual(
      [keys.datum('m-second'), keys.datumRefs('m-second'), recordKey(a), recordKey(b), recordKey(c)].sort(),
    );
    for (const key of await allKeys()) expect(await inspect.pttl(key)).toBe(-1);
  });

  it('deletes keys without a version, freeing their shared body and leaving only a marker of the delete', async () => {
    const webhookKeys = ['deleted-key-a', 'deleted-key-b'];
    await write(message(webhookKeys, large), null, 'm-deleted');
    expect(await write(message(webhookKeys, undefined, { op: 'delete' }), null)).toEqual({
      applied: 2,
      stale: 0,
      foreign: [],
      journalTrimmed: 0,
    });
    // No body, no data: per key a marker of the delete (owner and time, no version), which guards redrives.
    expect(await allKeys()).toEqual(webhookKeys.map(recordKey).sort());
    for (const key of webhookKeys) {
      // The marker keeps the key's mask (h), so that a re-key can move it, and what the delete ended (p), so that
      // its replay can name it again.
      const marker = await inspect.hgetall(recordKey(key));
      expect(Object.keys(marker).sort()).toEqual(['a', 'g', 'h', 'p', 'z']);
      expect(marker.h).toBe(digester.digested(key).mask);
      expect(marker.p).toMatch(/^m-\d+\|0\|0\|[^|]+\|m-deleted$/);
      expect(await inspect.pttl(recordKey(key))).toBeGreaterThan(0);
      expect((await reader.read(key)).kind).toBe('missing');
    }
    // The key is free again: another account may take it.
    expect(await write(message([webhookKeys[0]], 'new owner', { accountId: 'globex', version: 0 }), 60)).toMatchObject({
      applied: 1,
    });
  });

  it('leaves a tombstone for a versioned delete: older or equal versions are stale, the owner keeps the key', async () => {
    const [key] = ['tombstoned-key'];
    await write(message([key], 'v5', { version: 5 }), null, 'm-v5');
    expect(await write(message([key], undefined, { op: 'delete', version: 6 }), null)).toMatchObject({ applied: 1 });
    const tombstone = await inspect.hgetall(recordKey(key));
    expect(Object.keys(tombstone).sort()).toEqual(['a', 'g', 'h', 'p', 'v', 'z']);
    expect(tombstone.p).toMatch(/^m-\d+\|1\|0\|\|m-v5$/);
    expect(tombstone).toMatchObject({ a: 'acme', v: '6' });
    const ttl = await inspect.pttl(recordKey(key));
    expect(ttl).toBeGreaterThan(604_700_000);
    expect(ttl).toBeLessThanOrEqual(604_800_000);
    expect(await reader.read(key)).toEqual({ kind: 'missing' });

    // A late or redriven copy of an older message cannot bring the data back, nor can another account take the key.
    expect(await write(message([key], 'v5 again', { version: 5 }), null, 'm-v5')).toMatchObject({
      applied: 0,
      stale: 1,
    });
    expect(await write(message([key], 'v6', { version: 6 }), null)).toMatchObject({ applied: 0, stale: 1 });
    expect(await write(message([key], 'globex', { accountId: 'globex', version: 9 }), null)).toMatchObject({
      foreign: [digester.digest(key)],
    });
    expect(
      await store.restore({
        datumId: 'm-v5',
        accountId: 'acme',
        version: 5,
        body: '{"data":1}',
        digests: [digester.digest(key)],
        masks: [digester.digested(key).mask],
        expiresAt: null,
        storedAt: Date.now(),
      }),
    ).toEqual({ restored: 0, kept: 0, deleted: 1 });
    expect(await reader.read(key)).toEqual({ kind: 'missing' });

    // A delete without a version leaves the key deleted and the tombstone guarding it.
    expect(await write(message([key], undefined, { op: 'delete' }), null)).toMatchObject({ applied: 1 });
    expect(await inspect.hget(recordKey(key), 'v')).toBe('6');
    expect(await write(message([key], 'v5 once more', { version: 5 }), null)).toMatchObject({ applied: 0, stale: 1 });

    // A newer version, or a set without a version, applies over it.
    expect(await write(message([key], 'v7', { version: 7 }), null)).toMatchObject({ applied: 1 });
    const read = await reader.read(key);
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data).toBe('v7');
  });

  it('never lets a redriven message overwrite data sent after it, versioned or not, nor undo a later delete', async () => {
    const redriven = (sentAt: number) => ({ now: Date.now(), ttlSeconds: null, sentAt, redriven: true });
    const plain = [newKeyName('plain-a'), newKeyName('plain-b')];
    await store.write(message(plain, 'newer'), { datumId: 'sent-200', ...redriven(200), redriven: false });
    // Sent at 100, redriven after the data sent at 200 was stored: stale for both keys, shared body and inline.
    expect(await store.write(message(plain, 'older'), { datumId: 'sent-100', ...redriven(100) })).toMatchObject({
      applied: 0,
      stale: 2,
    });
    expect(await readData(plain[0])).toBe('"newer"');
    // Versioned: a higher version does not win over data sent later.
    const versioned = newKeyName('versioned');
    await store.write(message([versioned], 'v1', { version: 1 }), { datumId: 'v1', ...redriven(300), redriven: false });
    expect(
      await store.write(message([versioned], 'v2', { version: 2 }), { datumId: 'v2-old', ...redriven(250) }),
    ).toMatchObject({ applied: 0, stale: 1 });
    // A versioned delete's tombstone, sent at 400, keeps out a redriven set sent before it whatever its version.
    await store.write(message([versioned], null, { op: 'delete', version: 5 }), {
      datumId: 'delete',
      ...redriven(400),
      redriven: false,
    });
    expect(
      await store.write(message([versioned], 'v9', { version: 9 }), { datumId: 'v9-old', ...redriven(350) }),
    ).toMatchObject({ applied: 0, stale: 1 });
    // A redriven message sent after the stored data applies as usual; so does any message that is not a redrive.
    expect(await store.write(message(plain, 'latest'), { datumId: 'sent-500', ...redriven(500) })).toMatchObject({
      applied: 2,
    });
    expect(await inspect.hget(recordKey(plain[1]), 's')).toBe('500');
    expect(
      await store.write(message(plain, 'unjudged'), { datumId: 'sent-50', ...redriven(50), redriven: false }),
    ).toMatchObject({ applied: 2 });
    expect(await readData(plain[1])).toBe('"unjudged"');

    // A delete without a version leaves a marker that frees the key for other accounts, and whose time guards the
    // redrives of the account that deleted; another account's delete leaves it as it is.
    const freed = newKeyName('freed');
    await store.write(message([freed], 'a'), { datumId: 'a-100', ...redriven(100), redriven: false });
    await store.write(message([freed], null, { op: 'delete' }), {
      datumId: 'a-del',
      ...redriven(300),
      redriven: false,
    });
    const globexDelete = message([freed], null, { op: 'delete', accountId: 'globex' });
    expect(await store.write(globexDelete, { datumId: 'g-del', ...redriven(400), redriven: false })).toMatchObject({
      applied: 1,
    });
    expect(await inspect.hgetall(recordKey(freed))).toMatchObject({ a: 'acme', s: '300' });
    expect(await store.write(message([freed], 'old'), { datumId: 'a-200', ...redriven(200) })).toMatchObject({
      applied: 0,
      stale: 1,
    });
    // A redrive whose send time is unknown only fills keys that hold nothing.
    expect(
      await store.write(message([freed], 'unknown'), {
        datumId: 'u',
        now: Date.now(),
        ttlSeconds: null,
        redriven: true,
      }),
    ).toMatchObject({ applied: 0, stale: 1 });
    // Another account's redriven message (refused earlier while acme held the key) takes the freed key.
    const globexSet = message([freed], 'g', { accountId: 'globex' });
    expect(await store.write(globexSet, { datumId: 'g-250', ...redriven(250) })).toMatchObject({ applied: 1 });
  });

  it('replays a message harmlessly; the reconciler frees what an attempt that died before releasing left', async () => {
    const webhookKeys = ['replay-key-a', 'replay-key-b'];
    await write(message(webhookKeys, large), null, 'm-old');
    const next = message(webhookKeys, { ...large, next: true });

    // The first attempt of m-new dies after pointing the keys at its body, before releasing m-old.
    const body = JSON.stringify({ interrupted: true });
    const [etag, , attachedAt] = await client.attachDatum(
      keys.datum('m-new'),
      keys.datumRefs('m-new'),
      body,
      '"first"',
      '0',
      'first',
      ...webhookKeys.map((key) => digester.digest(key)),
    );
    expect(etag).toBe('"first"');
    const args = ['set', 'acme', '', 'm-new', etag, '', '0', 'first', attachedAt, '60000', '0', '1'];
    const replies = await applyRecordKeys(client, webhookKeys.map(recordKey), args);
    expect(replies.map((reply) => parseKeyReply(reply)[0])).toEqual(['applied', 'applied']);
    // The same call sent again (its reply lost): the keys hold this attempt's own attachment, which must stay.
    const resent = await applyRecordKeys(client, webhookKeys.map(recordKey), args);
    expect(resent.map((reply) => parseKeyReply(reply)[0])).toEqual(['held', 'held']);
    expect(await inspect.exists(keys.datum('m-old'))).toBe(1);
    const beforeReplay = await allKeys();

    // m-old is held by no key now; the reconciler frees it (a grace of 0: nothing is in progress here), as it would
    // if the message were never retried.
    expect(await context.get(ReferenceReconciler).reconcile(0)).toEqual({
      datumsChecked: 2,
      unheldAttachments: 2,
      datumsFreed: 1,
      danglingRecords: 0,
    });
    expect(await inspect.exists(keys.datum('m-old'), keys.datumRefs('m-old'))).toBe(0);
    expect(await allKeys()).toEqual(beforeReplay.filter((key) => !key.includes('m-old')));

    // The redelivery finds the keys holding its datum already: nothing changes, the first body stays.
    expect(await write(next, null, 'm-new')).toEqual({ applied: 2, stale: 0, foreign: [], journalTrimmed: 0 });
    const afterReplay = await allKeys();
    expect(afterReplay).toEqual(beforeReplay.filter((key) => !key.includes('m-old')));
    expect(await write(next, null, 'm-new')).toEqual({ applied: 2, stale: 0, foreign: [], journalTrimmed: 0 });
    expect(await allKeys()).toEqual(afterReplay);
    const read = await reader.read('replay-key-b');
    expect(read.kind === 'found' && read.body.toString()).toBe(body);
    expect(await attached('m-new')).toEqual(digestsOf(webhookKeys));
  });

  it('frees at once, on a replay, the body its first attempt left without releasing it', async () => {
    const webhookKeys = ['released-key-a', 'released-key-b'];
    await write(message(webhookKeys, large), null, 'm-left');
    // The first attempt of m-next points the keys at its body and dies before releasing m-left.
    const [etag, , attachedAt] = await client.attachDatum(
      keys.datum('m-next'),
      keys.datumRefs('m-next'),
      JSON.stringify({ next: true }),
      '"next"',
      '0',
      'next-attempt',
      ...webhookKeys.map((key) => digester.digest(key)),
    );
    const args = ['set', 'acme', '', 'm-next', etag, '', '0', 'next-attempt', attachedAt, '60000', '0', '1'];
    await applyRecordKeys(client, webhookKeys.map(recordKey), args);
    expect(await inspect.exists(keys.datum('m-left'))).toBe(1);
    // Its redelivery knows from the records what that attempt replaced, and releases it.
    await write(message(webhookKeys, { next: true }), null, 'm-next');
    expect(await inspect.exists(keys.datum('m-left'), keys.datumRefs('m-left'))).toBe(0);
    expect(await attached('m-next')).toEqual(digestsOf(webhookKeys));
  });

  it('calls alongsideJournal once the keys are written, with their counts, and not when no key was written', async () => {
    await write(message(['alongside-guarded'], 'v5', { version: 5 }), 3600);
    const calls: Array<{ counts: object; seen: Promise<(string | null)[]> }> = [];
    const alongsideJournal = (counts: object) =>
      // Commands issued here run after the keys' writes: they already find the new records.
      calls.push({
        counts,
        seen: Promise.all(['alongside-1', 'alongside-2'].map((key) => client.hget(recordKey(key), 'd'))),
      });
    await store.write(message(['alongside-1', 'alongside-2', 'alongside-guarded'], large, { version: 3 }), {
      datumId: 'm-alongside',
      ttlSeconds: 3600,
      now: Date.now(),
      alongsideJournal,
    });
    expect(calls.map(({ counts }) => counts)).toEqual([{ applied: 2, stale: 1, foreign: 0 }]);
    expect(await calls[0].seen).toEqual(['m-alongside', 'm-alongside']);

    await store.write(message(['alongside-guarded'], 'v4', { version: 4 }), {
      datumId: 'm-stale',
      ttlSeconds: 3600,
      now: Date.now(),
      alongsideJournal,
    });
    expect(calls).toHaveLength(1);
  });

  it('drops stale and foreign keys from the references of the body they were not given', async () => {
    await write(message(['guarded-key-1'], 'v5', { version: 5 }), 3600);
    await write(message(['guarded-key-2'], 'globex', { accountId: 'globex' }), 3600);
    const outcome = await write(
      message(['guarded-key-1', 'guarded-key-2', 'guarded-key-3'], large, { version: 3 }),
      3600,
      'm-guarded',
    );
    expect(outcome).toEqual({ applied: 1, stale: 1, foreign: [digester.digest('guarded-key-2')], journalTrimmed: 0 });
    expect(await attached('m-guarded')).toEqual([digester.digest('guarded-key-3')]);
    const kept = await reader.read('guarded-key-1');
    expect(kept.kind === 'found' && JSON.parse(kept.body.toString()).data).toBe('v5');
  });

  it('applies a message of more keys than one script call takes, each outcome counted for its own key', async () => {
    const webhookKeys = Array.from({ length: 250 }, (_, index) => `chunked-key-${index}`);
    const foreignPositions = [5, 150, 240];
    await write(
      message(
        foreignPositions.map((position) => webhookKeys[position]),
        'globex',
        { accountId: 'globex' },
      ),
      3600,
    );
    await write(message([webhookKeys[120]], 'v9', { version: 9 }), 3600);

    const outcome = await write(message(webhookKeys, large, { version: 3 }), 3600, 'm-chunked');
    expect(outcome).toEqual({
      applied: 246,
      stale: 1,
      foreign: foreignPositions.map((position) => digester.digest(webhookKeys[position])),
      journalTrimmed: 0,
    });
    const appliedKeys = webhookKeys.filter((_, position) => position !== 120 && !foreignPositions.includes(position));
    expect(await attached('m-chunked')).toEqual(digestsOf(appliedKeys));
    const readData = async (webhookKey: string) => {
      const read = await reader.read(webhookKey);
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
    const read = await reader.read('reloaded-key-2');
    expect(read.kind === 'found' && JSON.parse(read.body.toString()).data).toBe('after');
  });

  it('frees the body at once when every key of the message is rejected', async () => {
    await write(message(['taken-key-1', 'taken-key-2'], 'globex', { accountId: 'globex' }), 3600);
    const outcome = await write(message(['taken-key-1', 'taken-key-2'], large), 3600, 'm-rejected');
    expect(outcome.applied).toBe(0);
    expect(await inspect.exists(keys.datum('m-rejected'), keys.datumRefs('m-rejected'))).toBe(0);
  });

  it('writes nothing once Redis is over maxmemory: the message fails as a passing failure, whole, and applies later', async () => {
    const used = Number(/used_memory:(\d+)/.exec(await inspect.info('memory'))?.[1]);
    await inspect.config('SET', 'maxmemory-policy', 'noeviction');
    await inspect.config('SET', 'maxmemory', String(used + 64 * 1024));
    try {
      const big = { text: 'y'.repeat(512 * 1024) };
      const refused = await write(message(['full-key-1', 'full-key-2'], big), 3600, 'm-full').catch(
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(DependencyUnavailableError);
      expect(String(refused)).toContain('OOM');
      // Two writes in a row with room for none: Redis stays within one write of its limit.
      await write(message(['full-key-3'], big), 3600).catch(() => undefined);
      const usedAfter = Number(/used_memory:(\d+)/.exec(await inspect.info('memory'))?.[1]);
      expect(usedAfter).toBeLessThan(used + 64 * 1024 + 600 * 1024);
      expect(await reader.read('full-key-1')).toEqual({ kind: 'missing' });
      expect(await reader.read('full-key-3')).toEqual({ kind: 'missing' });
    } finally {
      await inspect.config('SET', 'maxmemory', '0');
    }
    expect(await write(message(['full-key-1', 'full-key-2'], { text: 'fits' }), 3600, 'm-full')).toMatchObject({
      applied: 2,
    });
  });

  it('acknowledges a write only once REDIS_WAIT_REPLICAS replicas have it', async () => {
    const waiting = new RecordStore(
      client,
      keys,
      digester,
      context.get(JournalStore),
      loadConfig({ APP_ROLES: 'query', REDIS_URL: redis.url, WEBHOOK_KEY_SECRET, REDIS_WAIT_REPLICAS: '1' }),
    );
    const record = message(['replicated-key'], 'replicated');
    const refused = await waiting
      .write(record, { datumId: 'm-replicated', ttlSeconds: 60, now: Date.now() })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(DependencyUnavailableError);
    expect(String(refused)).toContain('NOREPLICAS');

    await inspect.config('SET', 'repl-diskless-sync-delay', '0');
    const replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(redis.port)]);
    try {
      await eventually(async () => ((await inspect.info('replication')).includes('state=online') ? true : undefined));
      expect(await waiting.write(record, { datumId: 'm-replicated', ttlSeconds: 60, now: Date.now() })).toMatchObject({
        applied: 1,
      });
      const onReplica = new Redis(replica.url);
      expect(await onReplica.hget(recordKey('replicated-key'), 'd')).toBe('m-replicated');
      onReplica.disconnect();
    } finally {
      await replica.destroy();
    }
  });

  it('reads many keys, inline and shared, in one call', async () => {
    await write(message(['many-key-1', 'many-key-2'], large), 3600);
    await write(message(['many-key-3'], 'inline'), 3600);
    const found = await reader.readMany(['many-key-1', 'many-key-2', 'many-key-3', 'many-key-4']);
    expect([...found.keys()]).toEqual(['many-key-1', 'many-key-2', 'many-key-3']);
    expect(found.get('many-key-1')?.body.equals(found.get('many-key-2')?.body ?? Buffer.alloc(0))).toBe(true);
    expect(found.get('many-key-1')?.etag).toBe(found.get('many-key-2')?.etag);
    expect(JSON.parse(found.get('many-key-3')?.body.toString() ?? '{}').data).toBe('inline');
  });
});

/** The write journal against a real Redis: bounded in bytes, the oldest entries dropped and counted. */
/**
 * A write whose journal entry fails after its keys were written (its master failing over, a WAIT timing out) is
 * retried; the retry finds its keys written and must still tell the archive which datum each key held before, or a
 * restore after a total loss of Redis could write that older datum back. The failure here is real: an ACL that
 * lets the store's connection write records and bodies but not the journal's keys.
 */
describe('RecordStore replays name the endings their first attempt wrote', () => {
  let redis: RedisServer;
  let context: INestApplicationContext;
  let store: RecordStore;
  let journal: JournalStore;
  let admin: Redis;
  const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);
  const large = { text: 'y'.repeat(1024) };

  const set = (webhookKeys: string[], data: unknown, version?: number): RecordMessage => ({
    op: 'set',
    accountId: 'acme',
    flowId: 'replay',
    webhookKeys,
    dataJson: JSON.stringify(data),
    ...(version !== undefined && { version }),
  });
  const write = (record: RecordMessage, datumId: string) =>
    store.write(record, { datumId, ttlSeconds: null, now: Date.now() });
  /** Records, bodies and references only: journal keys (`sg:{journal...}`) answer NOPERM. */
  const refuseJournal = () => admin.call('ACL', 'SETUSER', 'store', 'resetkeys', '~sg:[^{]*');
  const allowJournal = () => admin.call('ACL', 'SETUSER', 'store', 'resetkeys', '~*');
  /**
   * Where the store connects (as the ACL user the tests restrict), with the journal on: it is written only when an
   * archive would drain it; nothing connects to this MongoDB address.
   */
  const journaledStore = () => ({
    REDIS_URL: redis.url.replace('redis://', 'redis://store:store-password@'),
    MONGODB_URI: 'mongodb://127.0.0.1:9',
  });
  /** Every journal entry of `datumId`, as the archive will read them. */
  async function journaled(datumId: string) {
    const drain = await journal.startDrain();
    const entries = await Promise.all(
      drain.shards.map(({ shard, until }) => (until === null ? Promise.resolve([]) : journal.read(shard, 1000, until))),
    );
    return entries.flat().filter((entry) => entry.datumId === datumId);
  }
  /** Writes `record` with its journal entry refused, as a failover would: the keys are written, the entry lost. */
  async function firstAttemptLosesItsEntry(record: RecordMessage, datumId: string) {
    await refuseJournal();
    await expect(write(record, datumId)).rejects.toThrow(/NOPERM|permission/i);
    await allowJournal();
    expect(await journaled(datumId)).toEqual([]);
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    admin = new Redis(redis.url);
    await admin.call('ACL', 'SETUSER', 'store', 'on', '>store-password', '~*', '&*', '+@all');
    context = await startStoreContext({ ...journaledStore(), WEBHOOK_KEY_SECRET });
    store = context.get(RecordStore);
    journal = context.get(JournalStore);
  });

  beforeEach(() => admin.flushall());

  /** A second store on the same journaled Redis, under `newer` with the suite's secret listed after it (a rotation). */
  function startRotatingStore(newer: string): Promise<INestApplicationContext> {
    return startStoreContext({ ...journaledStore(), WEBHOOK_KEY_SECRETS: `${newer},${WEBHOOK_KEY_SECRET}` });
  }

  afterAll(async () => {
    await context?.close();
    admin?.disconnect();
    await redis?.destroy();
  });

  it('names the inline datum a single-key write replaced, when the first attempt lost its journal entry', async () => {
    const key = 'replay-inline';
    await write(set([key], 'old'), 'm-old');
    await firstAttemptLosesItsEntry(set([key], 'new'), 'm-new');

    expect(await write(set([key], 'new'), 'm-new')).toMatchObject({ applied: 1, stale: 0 });
    const [entry] = await journaled('m-new');
    expect(entry.keys).toEqual([expect.objectContaining({ digest: digester.digest(key), previous: 'm-old' })]);
    expect(entry.ended).toEqual(['m-old']);
    // Ordered as Redis applied them: the key's generation when m-new took it, the first attempt's (the record's),
    // above m-old's.
    const [older] = await journaled('m-old');
    const record = await admin.hget(`sg:k:${digester.digest(key)}`, 'g');
    expect(entry.keys[0].generation).toBe(record);
    expect(BigInt(entry.keys[0].generation ?? 0)).toBeGreaterThan(BigInt(older.keys[0].generation ?? Infinity));
  });

  it("names, during a rotation, the older secret's record as the one that held the replaced datum", async () => {
    const newer = 'newer-secret-for-replays-0123456789';
    const rotating = await startRotatingStore(newer);
    try {
      const key = 'replay-rotation';
      await write(set([key], 'old'), 'm-before-rotation');
      // Under the new secret list the write moves the key to the newer secret's record; its entry is lost.
      const rotatingWrite = () =>
        rotating.get(RecordStore).write(set([key], 'new'), { datumId: 'm-rotated', ttlSeconds: null, now: Date.now() });
      await refuseJournal();
      await expect(rotatingWrite()).rejects.toThrow(/NOPERM|permission/i);
      await allowJournal();
      await rotatingWrite();
      const [entry] = await journaled('m-rotated');
      const [newest, older] = new WebhookKeyDigester(newer, WEBHOOK_KEY_SECRET).digests(key);
      expect(entry.keys).toEqual([
        expect.objectContaining({ digest: newest, previous: 'm-before-rotation', previousUnder: older }),
      ]);
    } finally {
      await rotating.close();
    }
  });

  it('attaches a shared body in the apply call during a rotation: newest records only, nothing unheld after a replay', async () => {
    const newer = 'newer-secret-for-shared-0123456789';
    const rotating = await startRotatingStore(newer);
    try {
      const [a, b, c] = ['rot-shared-a', 'rot-shared-b', 'rot-shared-c'];
      await write(set([a], 'old-a'), 'm-old-a');
      await write(set([b, c], large), 'm-old-bc');
      const rotatingDigester = new WebhookKeyDigester(newer, WEBHOOK_KEY_SECRET);
      const next = { ...large, next: 'rotated' };
      const rotatingWrite = () =>
        rotating.get(RecordStore).write(set([a, b, c], next), { datumId: 'm-rot', ttlSeconds: null, now: Date.now() });
      await refuseJournal();
      await expect(rotatingWrite()).rejects.toThrow(/NOPERM|permission/i);
      await allowJournal();
      const firstToken = await admin.hget(`sg:k:${rotatingDigester.digests(a)[0]}`, 't');
      expect(firstToken).not.toBeNull();
      // The replay (a new attempt, a new token) keeps every key; its own attachments go, the first attempt's stay.
      expect(await rotatingWrite()).toMatchObject({ applied: 3, stale: 0 });

      for (const key of [a, b, c]) {
        const [newest, older] = rotatingDigester.digests(key);
        expect(await admin.exists(`sg:k:${older}`)).toBe(0);
        expect(await admin.hmget(`sg:k:${newest}`, 'd', 't', 'b')).toEqual(['m-rot', firstToken, null]);
      }
      const attachments = (await admin.hkeys('sg:r:{m-rot}')).filter((field) => field.includes('|')).sort();
      expect(attachments).toEqual([a, b, c].map((key) => `${rotatingDigester.digests(key)[0]}|${firstToken}`).sort());
      expect(await admin.exists('sg:d:{m-old-bc}', 'sg:r:{m-old-bc}')).toBe(0);

      const [entry] = await journaled('m-rot');
      expect(
        entry.keys
          .map(({ digest, previous, previousUnder }) => ({ digest, previous, previousUnder }))
          .sort((x, y) => x.digest.localeCompare(y.digest)),
      ).toEqual(
        [
          { key: a, previous: 'm-old-a' },
          { key: b, previous: 'm-old-bc' },
          { key: c, previous: 'm-old-bc' },
        ]
          .map(({ key, previous }) => {
            const [newest, older] = rotatingDigester.digests(key);
            return { digest: newest, previous, previousUnder: older };
          })
          .sort((x, y) => x.digest.localeCompare(y.digest)),
      );
      expect([...entry.ended].sort()).toEqual(['m-old-a', 'm-old-bc']);
      const read = await rotating.get(RecordReader).read(b);
      expect(read.kind === 'found' && (JSON.parse(read.body.toString()) as { data: unknown }).data).toEqual(next);
      expect(await rotating.get(ReferenceReconciler).reconcile(0)).toMatchObject({
        unheldAttachments: 0,
        danglingRecords: 0,
      });
    } finally {
      await rotating.close();
    }
  });

  it('gives every write of a key a higher generation, also when Redis time goes back', async () => {
    const key = 'replay-generations';
    const record = `sg:k:${digester.digest(key)}`;
    await write(set([key], 1), 'm-g1');
    // A record from a server whose clock was ahead (a failover to a replica behind it): the next write still goes up.
    const ahead = String(BigInt((await admin.hget(record, 'g')) ?? 0) + 10_000_000_000n);
    await admin.hset(record, 'g', ahead);
    await write(set([key], 2), 'm-g2');
    expect(await admin.hget(record, 'g')).toBe(String(BigInt(ahead) + 1n));
    const [entry] = await journaled('m-g2');
    expect(entry.keys[0]).toMatchObject({ previous: 'm-g1', generation: String(BigInt(ahead) + 1n) });
  });

  it('names the shared datum every key of a multi-key write left, and frees it once', async () => {
    const webhookKeys = ['replay-shared-a', 'replay-shared-b'];
    await write(set(webhookKeys, large), 'm-old-shared');
    await firstAttemptLosesItsEntry(set(webhookKeys, { ...large, next: true }), 'm-new-shared');

    await write(set(webhookKeys, { ...large, next: true }), 'm-new-shared');
    const [entry] = await journaled('m-new-shared');
    expect(
      entry.keys.map(({ digest, previous }) => ({ digest, previous })).sort((a, b) => a.digest.localeCompare(b.digest)),
    ).toEqual(
      webhookKeys
        .map((key) => ({ digest: digester.digest(key), previous: 'm-old-shared' }))
        .sort((a, b) => a.digest.localeCompare(b.digest)),
    );
    expect(entry.ended).toEqual(['m-old-shared']);
    expect(await admin.exists('sg:d:{m-old-shared}', 'sg:r:{m-old-shared}')).toBe(0);
  });

  it('names the datum a versioned delete removed when its replay finds its own tombstone', async () => {
    const key = 'replay-delete';
    await write(set([key], 'v1', 1), 'm-v1');
    const remove: RecordMessage = { op: 'delete', accountId: 'acme', flowId: 'replay', webhookKeys: [key], version: 2 };
    await firstAttemptLosesItsEntry(remove, 'm-delete');

    // Its own tombstone: kept (not stale for its equal version), and the ending named again.
    expect(await write(remove, 'm-delete')).toMatchObject({ applied: 1, stale: 0 });
    const [entry] = await journaled('m-delete');
    expect(entry.op).toBe('delete');
    expect(entry.keys).toEqual([expect.objectContaining({ digest: digester.digest(key), previous: 'm-v1' })]);
    expect(entry.ended).toEqual(['m-v1']);
    // Another delete of the same version is still stale, and a later versionless delete names no ending.
    expect(await write(remove, 'm-delete-again')).toMatchObject({ applied: 0, stale: 1 });
    const unversioned: RecordMessage = { ...remove, version: undefined };
    await write(unversioned, 'm-delete-unversioned');
    const [later] = await journaled('m-delete-unversioned');
    expect(later.keys.map(({ previous }) => previous)).toEqual(['']);
    expect(later.ended).toEqual([]);
  });

  it('names nothing for a write that replaced nothing', async () => {
    const key = 'replay-fresh';
    await firstAttemptLosesItsEntry(set([key], 'first'), 'm-first');
    await write(set([key], 'first'), 'm-first');
    const [entry] = await journaled('m-first');
    expect(entry.keys.map(({ previous }) => previous)).toEqual(['']);
    expect(entry.ended).toEqual([]);
  });
});

describe('JournalStore bound', () => {
  const privateRedis = usePrivateRedis();
  const client = () => privateRedis().client;
  const keys = new KeyLayout('sg:');
  const MAX_BYTES = 1_048_576;
  const config = loadConfig({
    APP_ROLES: 'query',
    WEBHOOK_KEY_SECRET,
    // The journal is written only when an archive would drain it; nothing connects to this address.
    MONGODB_URI: 'mongodb://127.0.0.1:9',
    ARCHIVE_JOURNAL_MAX_BYTES: String(MAX_BYTES),
  });
  const entry = (n: number) => ({
    op: 'set' as const,
    datumId: `journal-${n}`,
    accountId: 'acme',
    flowId: 'journal',
    version: null,
    at: Date.now(),
    expiresAt: null,
    keys: [{ digest: `digest-${n}`, previous: '' }],
    ended: [],
    body: 'x'.repeat(100_000),
  });

  it('holds at most ARCHIVE_JOURNAL_MAX_BYTES, drops the oldest entries, counts them until drained', async () => {
    const journal = new JournalStore(client(), keys, config);
    let dropped = 0;
    for (let n = 0; n < 25; n++) dropped += await journal.append(entry(n));
    const state = await journal.state();
    expect(state.bytes).toBeLessThanOrEqual(MAX_BYTES);
    expect(state.bytes).toBeGreaterThan(MAX_BYTES - 100_300);
    expect(dropped).toBe(15);
    expect(state.droppedSinceDrain).toBe(15);

    // ARCHIVE_JOURNAL_MAX_BYTES of 1 MiB leaves room for one shard only (4 MiB each at least): shard 0.
    const drain = await journal.startDrain();
    const until = drain.shards.find(({ shard }) => shard === 0)?.until ?? '+';
    expect(drain.shards.filter(({ until: newest }) => newest !== null).map(({ shard }) => shard)).toEqual([0]);
    const entries = await journal.read(0, 100, until);
    expect(entries.map((kept) => kept.datumId)).toEqual(Array.from({ length: 10 }, (_, n) => `journal-${n + 15}`));
    expect(entries.reduce((total, kept) => total + kept.size, 0)).toBe(state.bytes);

    // Acknowledging what the archive copied frees its bytes, once, even if acknowledged twice.
    await journal.acknowledge(entries.slice(0, 4));
    await journal.acknowledge(entries.slice(0, 4));
    expect((await journal.state()).bytes).toBe(entries.slice(4).reduce((total, kept) => total + kept.size, 0));
    await journal.markDrained(drain);
    expect((await journal.state()).droppedSinceDrain).toBe(0);

    // An entry larger than the whole bound is dropped alone; the entries already held stay.
    expect(await journal.append({ ...entry(99), body: 'z'.repeat(MAX_BYTES + 1) })).toBe(1);
    expect((await journal.read(0, 100, '+')).length).toBe(6);
  });
});
