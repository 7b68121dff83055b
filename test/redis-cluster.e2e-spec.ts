import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ArchivedPolicy, ArchivedRecord } from '../src/archive/archive.schemas';
import { JOURNAL_SHARDS, KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordReader } from '../src/store/record-reader';
import { RecordStore, attachedDigests } from '../src/store/record-store';
import { RedisStatus } from '../src/store/redis-status';
import { ACME, ADMIN_KEY, eventually, startTestApp, TestApp, WEBHOOK_KEY_SECRET } from './support/app';
import { useHarness } from './support/harness';
import { startMongoTarget } from './support/mongo-target';
import { describeRecordsSuite, RecordsSuite } from './support/records-suite';
import { redisCluster } from './support/redis-target';

const keys = new KeyLayout('sg:');
const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);

describeRecordsSuite('records on a Redis Cluster (REDIS_CLUSTER_NODES)', redisCluster, (suite: RecordsSuite) => {
  const masters = () => (suite.redis.inspect as Cluster).nodes('master');

  // The tests below use the service's stores directly, which fail at once while its cluster client is connecting.
  beforeAll(async () => {
    expect(await suite.service.app.get(RedisStatus).waitUntilReady(30_000)).toBe(true);
  });

  it('spreads the keys of one message over every master, sharing one body, and frees it when they are deleted', async () => {
    const webhookKeys = Array.from({ length: 60 }, () => suite.newKey('spread'));
    const data = { text: 'x'.repeat(1024) };
    const accepted = await suite.submit(ACME.apiKey, { accountId: 'acme', flowId: 'spread', webhookKeys, data });
    expect(accepted.status).toBe(202);
    const datumId: string = accepted.body.messageId;

    const batch = () => request(suite.service.url).post('/v1/data/batch-get').send({ webhookKeys });
    const stored = await eventually(
      async () => {
        const response = await batch();
        return response.body.missing?.length === 0 ? response : undefined;
      },
      15_000,
      'every key of the message',
    );
    const documents = webhookKeys.map((key) => stored.body.items[key]);
    expect(documents.every((document) => JSON.stringify(document) === JSON.stringify(documents[0]))).toBe(true);
    expect(documents[0]).toMatchObject({ accountId: 'acme', flowId: 'spread', data });

    const records = new Set(webhookKeys.map((key) => keys.record(digester.digest(key))));
    const recordsPerMaster = await Promise.all(
      masters().map(async (node) => (await node.keys('sg:k:*')).filter((key) => records.has(key)).length),
    );
    expect(recordsPerMaster).toHaveLength(3);
    expect(recordsPerMaster.every((count) => count > 0)).toBe(true);
    expect(recordsPerMaster.reduce((sum, count) => sum + count, 0)).toBe(webhookKeys.length);
    const [bodySlot, refsSlot] = await Promise.all(
      [keys.datum(datumId), keys.datumRefs(datumId)].map((key) => suite.redis.inspect.cluster('KEYSLOT', key)),
    );
    expect(bodySlot).toBe(refsSlot);
    // One attachment per key, besides the body's ETag and expiry (`#e`, `#x`).
    expect(attachedDigests(await suite.redis.inspect.hkeys(keys.datumRefs(datumId))).sort()).toEqual(
      webhookKeys.map((key) => digester.digest(key)).sort(),
    );

    const deleted = await suite.submit(ACME.apiKey, { op: 'delete', accountId: 'acme', flowId: 'spread', webhookKeys });
    expect(deleted.status).toBe(202);
    await eventually(
      async () => ((await batch()).body.missing?.length === webhookKeys.length ? true : undefined),
      15_000,
      'the delete',
    );
    const leftOver = await Promise.all(
      [keys.datum(datumId), keys.datumRefs(datumId)].map((key) => suite.redis.inspect.exists(key)),
    );
    expect(leftOver).toEqual([0, 0]);
  });

  it('writes a message in a few round trips per master however many keys it has', async () => {
    const client = suite.service.app.get<Cluster>(getRedisConnectionToken());
    const store = suite.service.app.get(RecordStore);
    // The client connects to a master on its first command for it, and a master runs the apply script by EVAL the
    // first time (NOSCRIPT): counting starts once every master is connected and holds the script.
    await Promise.all(client.nodes('master').map((node) => node.ping()));
    const warmUp = Array.from({ length: 30 }, () => suite.newKey('trips-warm-up'));
    await store.write(
      { op: 'set', accountId: 'acme', flowId: 'trips', webhookKeys: warmUp, dataJson: '"warm-up"' },
      { datumId: 'trips-warm-up', ttlSeconds: 600, now: Date.now() },
    );
    const writesPerMaster = async (keyCount: number) => {
      const webhookKeys = Array.from({ length: keyCount }, () => suite.newKey('trips'));
      const spies = client.nodes('master').map((node) => jest.spyOn(node.stream, 'write'));
      try {
        const outcome = await store.write(
          { op: 'set', accountId: 'acme', flowId: 'trips', webhookKeys, dataJson: JSON.stringify({ keyCount }) },
          { datumId: `trips-${keyCount}`, ttlSeconds: 600, now: Date.now() },
        );
        expect(outcome.applied).toBe(keyCount);
        return spies.map((spy) => spy.mock.calls.length);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
    };
    // One pipeline per master for the keys' scripts, one more on the master of the shared body: attaching it.
    for (const keyCount of [3, 300]) {
      const writes = await writesPerMaster(keyCount);
      expect(writes.every((count) => count <= 2)).toBe(true);
      expect(writes.reduce((sum, count) => sum + count, 0)).toBeLessThanOrEqual(writes.length + 1);
    }
  });

  it('applies the keys of a message that share a hash slot in one script call, each outcome counted for its own key', async () => {
    const client = suite.service.app.get<Cluster>(getRedisConnectionToken());
    const store = suite.service.app.get(RecordStore);
    const slotOf = (webhookKey: string) => calculateSlot(keys.record(digester.digest(webhookKey)));
    // Digests spread like random keys: among 3,000 keys, some three share a slot (about 17 such triples expected).
    const bySlot = new Map<number, string[]>();
    for (let n = 0; n < 3000; n++) {
      const key = suite.newKey('slot');
      bySlot.set(slotOf(key), [...(bySlot.get(slotOf(key)) ?? []), key]);
    }
    const sameSlot = [...bySlot.values()].find((group) => group.length >= 3)?.slice(0, 3) ?? [];
    expect(sameSlot).toHaveLength(3);
    const others = Array.from({ length: 20 }, () => suite.newKey('slot'));
    const webhookKeys = [others[0], ...sameSlot, ...others.slice(1)];
    await store.write(
      { op: 'set', accountId: 'globex', flowId: 'slots', webhookKeys: [sameSlot[1]], dataJson: '"taken"' },
      { datumId: 'slots-taken', ttlSeconds: 600, now: Date.now() },
    );

    const calls = jest.spyOn(client, 'evalsha');
    try {
      const outcome = await store.write(
        { op: 'set', accountId: 'acme', flowId: 'slots', webhookKeys, dataJson: '"shared"' },
        { datumId: 'slots-shared', ttlSeconds: 600, now: Date.now() },
      );
      expect(outcome).toEqual({
        applied: webhookKeys.length - 1,
        stale: 0,
        foreign: [digester.digest(sameSlot[1])],
        journalTrimmed: 0,
      });
      expect(calls).toHaveBeenCalledTimes(new Set(webhookKeys.map(slotOf)).size);
      expect(calls.mock.calls.filter((call) => call[1] === sameSlot.length)).toHaveLength(1);
    } finally {
      calls.mockRestore();
    }
    const documents = await suite.service.app.get(RecordReader).readMany(webhookKeys);
    expect(JSON.parse(documents.get(sameSlot[1])?.body.toString() ?? '{}').data).toBe('taken');
    for (const key of [...others, sameSlot[0], sameSlot[2]]) {
      expect(JSON.parse(documents.get(key)?.body.toString() ?? '{}').data).toBe('shared');
    }
  });

  it('archives what every master holds, scanning each of them', async () => {
    const store = suite.service.app.get(RecordStore);
    const datumIds = Array.from({ length: 300 }, (_, n) => `cluster-archive-${n}`);
    // Written by the suite's service, which has no MONGODB_URI and so no journal: only the scan can find them.
    await Promise.all(
      datumIds.map((datumId, n) =>
        store.write(
          {
            op: 'set',
            accountId: 'acme',
            flowId: 'cluster-archive',
            webhookKeys: Array.from({ length: 1 + (n % 3) }, () => suite.newKey('archive')),
            dataJson: JSON.stringify({ n }),
          },
          { datumId, ttlSeconds: 600, now: Date.now() },
        ),
      ),
    );
    const policy = await request(suite.service.url)
      .put('/admin/ttl-policies/accounts/globex/flows/cluster-archive')
      .set('x-api-key', ADMIN_KEY)
      .send({ ttlSeconds: 900 });
    expect(policy.status).toBe(200);

    const mongo = await startMongoTarget();
    const archiver = await startTestApp({
      ...suite.serviceEnv,
      APP_ROLES: 'admin,scheduler',
      MONGODB_URI: mongo.uri,
      ARCHIVE_CRON: '0 0 1 1 *',
    });
    const archive = await mongoose.createConnection(mongo.uri).asPromise();
    try {
      expect(await archiver.app.get(RedisStatus).waitUntilReady(30_000)).toBe(true);
      const started = await request(archiver.url).post('/admin/archive/runs').set('x-api-key', ADMIN_KEY);
      expect(started.status).toBe(202);
      const run = await eventually(
        async () => {
          const current = (
            await request(archiver.url).get(`/admin/archive/runs/${started.body.runId}`).set('x-api-key', ADMIN_KEY)
          ).body;
          return current.status === 'running' ? undefined : current;
        },
        60_000,
        'the archive run',
      );
      expect(run.status).toBe('succeeded');
      expect(run.recordsArchived).toBeGreaterThanOrEqual(datumIds.length);

      const archived = await archive
        .collection<ArchivedRecord>('archived_records')
        .find({ _id: { $in: datumIds } })
        .toArray();
      expect(archived).toHaveLength(datumIds.length);
      expect(archived.map((record) => record.keys.length).reduce((sum, count) => sum + count, 0)).toBe(600);
      const policies = await archive
        .collection<ArchivedPolicy>('archived_ttl_policies')
        .find({ _id: 'globex/cluster-archive' })
        .toArray();
      expect(policies.map((stored) => stored.ttlSeconds)).toEqual([900]);
    } finally {
      await archive.close();
      await archiver.close();
      await mongo.stop();
    }
  });
});

describe('the write journal on a 3-master Redis Cluster', () => {
  const harness = useHarness({ redis: redisCluster, mongo: true, apps: 1, env: { ARCHIVE_CRON: '0 0 1 1 *' } });
  const masters = () => (harness().redis.inspect as Cluster).nodes('master');
  let archiver: TestApp;
  let archive: mongoose.Connection;
  let keyCount = 0;
  const newKey = (label: string) => `${label}-${keyCount++}-${randomUUID()}`;

  beforeAll(async () => {
    archiver = harness().apps[0];
    archive = await mongoose.createConnection(harness().mongo.uri).asPromise();
    harness().defer(() => archive.close());
    expect(await archiver.app.get(RedisStatus).waitUntilReady(30_000)).toBe(true);
  });

  const runArchive = async () => {
    const started = await request(archiver.url).post('/admin/archive/runs').set('x-api-key', ADMIN_KEY);
    expect(started.status).toBe(202);
    return eventually(
      async () => {
        const current = (
          await request(archiver.url).get(`/admin/archive/runs/${started.body.runId}`).set('x-api-key', ADMIN_KEY)
        ).body;
        return current.status === 'running' ? undefined : current;
      },
      60_000,
      'the archive run',
    );
  };

  /** Journal entries on each master, over every shard stream it holds. */
  const entriesPerMaster = () =>
    Promise.all(
      masters().map(async (node) => {
        const streams = await node.keys('sg:{journal*');
        const lengths = await Promise.all(
          streams.filter((key) => !key.endsWith(':bytes') && !key.endsWith(':dropped')).map((key) => node.xlen(key)),
        );
        return lengths.reduce((total, length) => total + length, 0);
      }),
    );

  it('spreads its appends over every master evenly, and the archive drains them all', async () => {
    const store = archiver.app.get(RecordStore);
    const datumIds = Array.from({ length: 600 }, (_, n) => `journal-spread-${n}-${randomUUID()}`);
    await Promise.all(
      datumIds.map((datumId, n) =>
        store.write(
          {
            op: 'set',
            accountId: 'acme',
            flowId: 'journal-spread',
            webhookKeys: [newKey('journal')],
            dataJson: JSON.stringify({ n }),
          },
          { datumId, ttlSeconds: 600, now: Date.now() },
        ),
      ),
    );
    const perMaster = await entriesPerMaster();
    expect(perMaster).toHaveLength(3);
    expect(perMaster.reduce((total, count) => total + count, 0)).toBe(datumIds.length);
    // One stream would put all 600 on one master; 48 shards hashed by datum id put about 200 on each.
    for (const count of perMaster) expect(count).toBeGreaterThan(datumIds.length * 0.25);

    expect((await runArchive()).status).toBe('succeeded');
    expect(await entriesPerMaster()).toEqual([0, 0, 0]);
    const archived = await archive
      .collection<ArchivedRecord>('archived_records')
      .countDocuments({ _id: { $in: datumIds } });
    expect(archived).toBe(datumIds.length);
    const journal = (await request(archiver.url).get('/health/ready')).body.checks.journal;
    expect(journal).toEqual({ status: 'up' });
  });

  it('ends an overwritten datum even when the overwrite sits in a shard drained before the datum', async () => {
    const store = archiver.app.get(RecordStore);
    const shardOf = (datumId: string) => calculateSlot(datumId) % JOURNAL_SHARDS;
    const idInShards = (prefix: string, from: number, to: number) => {
      for (let n = 0; ; n++) {
        const id = `${prefix}-${n}-${randomUUID()}`;
        if (shardOf(id) >= from && shardOf(id) <= to) return id;
      }
    };
    // The run drains shard 0 first and shard 47 last: the overwrite is copied before what it overwrote.
    const older = idInShards('order-older', 40, JOURNAL_SHARDS - 1);
    const newer = idInShards('order-newer', 0, 5);
    const webhookKey = newKey('order');
    for (const [datumId, data] of [
      [older, 'first'],
      [newer, 'second'],
    ]) {
      await store.write(
        { op: 'set', accountId: 'acme', flowId: 'order', webhookKeys: [webhookKey], dataJson: JSON.stringify(data) },
        { datumId, ttlSeconds: 600, now: Date.now() },
      );
    }
    expect((await runArchive()).status).toBe('succeeded');
    const records = archive.collection<ArchivedRecord>('archived_records');
    const [olderRecord, newerRecord] = await Promise.all([
      records.findOne({ _id: older }),
      records.findOne({ _id: newer }),
    ]);
    expect(JSON.parse(olderRecord?.body ?? '{}').data).toBe('first');
    expect(olderRecord?.replacedAt).toBeInstanceOf(Date);
    expect(Object.values(olderRecord?.endedKeys ?? {}).map(({ reason }) => reason)).toEqual(['replaced']);
    expect(olderRecord).toMatchObject({ accountId: 'acme', deleted: false, deletedAt: null });
    expect(JSON.parse(newerRecord?.body ?? '{}').data).toBe('second');
    expect(newerRecord).toMatchObject({ replacedAt: null, deleted: false });
  });
});
