import fc from 'fast-check';
import Redis from 'ioredis';
import { loadConfig } from '../src/config/app-config';
import { RecordMessage } from '../src/message/record-message.validation';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { attachedDigests, RecordStore } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { RedisServer } from './support/redis-server';
import { diedOf, scheduledClient } from './support/scheduled-redis';

/**
 * A model-based test of the re-key against a real redis-server: keys written under secret A (data, shared bodies,
 * versioned tombstones, unversioned delete markers), a rolling restart to `B,A` (writes under A alone and under
 * `B,A` mixed), then, under `B,A`, messages applied one after the other —
 * with workers that die between any two steps and redeliver, and the same message delivered twice at once — while
 * one or two re-key walks (a job and the holder it was taken over from) move the records to B. fast-check's
 * scheduler interleaves every Redis command of all of them. Afterwards every key must read exactly as the same
 * messages leave it without any re-key (a second keyspace, the reference), no key may point at a missing body or
 * lack its attachment, and after one more walk no record may be left under A.
 *
 * REKEY_MODEL_RUNS sets the number of runs (default 500, about 20 s); a failure prints the seed and path to replay.
 */
const RUNS = Number(process.env.REKEY_MODEL_RUNS ?? 500);
const KEYS = ['rk-a', 'rk-b', 'rk-c', 'rk-d'];
const SECRET_A = 'model-secret-a-0123456789';
const SECRET_B = 'model-secret-b-0123456789';
const NOW = Date.parse('2026-11-30T12:00:00.000Z');

/** The methods of the Redis client that RecordStore calls for writes and re-key; each call is one scheduled step. */
const STEPS = new Set([
  'evalsha',
  'eval',
  'attachDatum',
  'releaseDatum',
  'get',
  'hget',
  'hmget',
  'hstrlen',
  'exists',
  'scan',
]);
STEPS.add('rekeyRecord');

interface ModelMessage {
  datumId: string;
  message: RecordMessage;
  diesAfter: number | null;
  twice: boolean;
  /**
   * Written, before the re-key starts, by an instance still running with A alone (a rolling restart to `B,A` under
   * way): it can leave a key a record under A beside one under B, which reads never see (the newest secret's wins)
   * and re-key removes ('superseded'). Re-key is started once every instance runs with `B,A` (docs/operations.md).
   */
  underA: boolean;
}

const messageArbitrary = (prefix: string, index: number): fc.Arbitrary<ModelMessage> =>
  fc
    .record({
      op: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete'),
      keys: fc.subarray(KEYS, { minLength: 1 }),
      version: fc.option(fc.integer({ min: 1, max: 9 }), { freq: 3 }),
      diesAfter: fc.option(fc.nat({ max: 5 }), { freq: 2 }),
      twice: fc.boolean(),
      underA: fc.nat({ max: 3 }).map((draw) => draw === 0),
    })
    .map(({ op, keys, version, diesAfter, twice, underA }) => ({
      datumId: `${prefix}-${index}`,
      diesAfter,
      twice,
      underA,
      message: {
        op,
        accountId: 'acme',
        flowId: 'model',
        webhookKeys: keys,
        ...(version !== null && { version }),
        ...(op === 'set' && { dataJson: JSON.stringify({ from: `${prefix}-${index}` }) }),
      },
    }));

const scenarioArbitrary = fc.record({
  seed: fc
    .array(fc.nat(), { minLength: 1, maxLength: 4 })
    .chain((draws) => fc.tuple(...draws.map((_, index) => messageArbitrary('seed', index)))),
  rollout: fc
    .array(fc.nat(), { maxLength: 3 })
    .chain((draws) => fc.tuple(...draws.map((_, index) => messageArbitrary('rollout', index)))),
  later: fc
    .array(fc.nat(), { minLength: 1, maxLength: 4 })
    .chain((draws) =>
      fc.tuple(
        ...draws.map((_, index) => messageArbitrary('later', index).map((model) => ({ ...model, underA: false }))),
      ),
    ),
  walks: fc.integer({ min: 1, max: 2 }),
});

describe('re-key under concurrent, crashing and replayed writes (model-based)', () => {
  let redis: RedisServer;
  let client: Redis;
  const underA = new WebhookKeyDigester(SECRET_A);
  const rotating = new WebhookKeyDigester(SECRET_B, SECRET_A);
  const config = loadConfig({ APP_ROLES: 'query', WEBHOOK_KEY_SECRET: SECRET_A, TOMBSTONE_TTL_SECONDS: '3600' });
  const live = new KeyLayout('sg:');
  const reference = new KeyLayout('ref:');

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.destroy();
  });

  function plainStore(keys: KeyLayout, digester: WebhookKeyDigester): RecordStore {
    return new RecordStore(client, keys, digester, new JournalStore(client, keys, config), config);
  }

  /** A store under `B,A` whose every Redis call waits for the scheduler; after `diesAfter` calls its worker dies. */
  function scheduledStore(scheduler: fc.Scheduler, diesAfter: number | null, inFlight: Set<Promise<unknown>>) {
    const stepped = scheduledClient(client, STEPS, scheduler, diesAfter, inFlight);
    return new RecordStore(stepped, live, rotating, new JournalStore(stepped, live, config), config);
  }

  async function deliver(fresh: () => RecordStore, first: RecordStore, model: ModelMessage): Promise<void> {
    const context = { datumId: model.datumId, ttlSeconds: null, now: NOW };
    try {
      await first.write(model.message, context);
      return;
    } catch (error) {
      if (!diedOf(error)) throw error;
    }
    await fresh().write(model.message, context);
  }

  async function walk(store: RecordStore): Promise<{ moved: number; unmovable: number }> {
    const total = { moved: 0, unmovable: 0 };
    for await (const { recordKeys } of store.scanRecordKeys({ node: 0, cursor: '0' }, 2)) {
      const counts = await store.rekeyRecords(recordKeys);
      total.moved += counts.moved;
      total.unmovable += counts.unmovable;
    }
    return total;
  }

  it(`moves every key and changes nothing any key reads, over ${RUNS} random interleavings`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), scenarioArbitrary, async (scheduler, { seed, rollout, later, walks }) => {
        await client.flushall();
        // One time for every write: the stored documents (storedAt) of the two keyspaces compare equal.
        const context = (model: ModelMessage) => ({ datumId: model.datumId, ttlSeconds: null, now: NOW });
        // The reference: the same messages, without any re-key.
        for (const keys of [reference, live]) {
          for (const model of seed) await plainStore(keys, underA).write(model.message, context(model));
          for (const model of rollout) {
            await plainStore(keys, model.underA ? underA : rotating).write(model.message, context(model));
          }
        }
        for (const model of later) await plainStore(reference, rotating).write(model.message, context(model));

        const inFlight = new Set<Promise<unknown>>();
        const fresh = () => scheduledStore(scheduler, null, inFlight);
        let writes = Promise.resolve();
        for (const model of later) {
          writes = writes.then(async () => {
            await Promise.all([
              deliver(fresh, scheduledStore(scheduler, model.diesAfter, inFlight), model),
              ...(model.twice ? [fresh().write(model.message, context(model))] : []),
            ]);
          });
        }
        const work = [writes, ...Array.from({ length: walks }, () => walk(fresh()))];
        await scheduler.waitFor(Promise.all(work), async (release) => {
          await release();
          await new Promise((resolve) => setImmediate(resolve));
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        });

        await expectSameReads();
        await expectBodiesAttached();
        // A record moved while a walk passed it may be left for the next walk (a rerun of the job): it finds it.
        expect((await walk(plainStore(live, rotating))).unmovable).toBe(0);
        for (const key of KEYS)
          expect({ key, underA: await client.exists(live.record(underA.digest(key))) }).toEqual({ key, underA: 0 });
        await expectSameReads();
        await expectBodiesAttached();
        await new ReferenceReconciler(client, live).reconcile(0);
        await expectBodiesAttached();
        await expectEveryAttachmentHeld();
        await expectSameReads();
      }),
      { numRuns: RUNS, verbose: 1 },
    );
  }, 120_000);

  /** What a read of the key sees: the newest secret's record first (data with its body, a tombstone, or nothing). */
  async function visible(keys: KeyLayout, key: string): Promise<Record<string, string | null>> {
    for (const digest of rotating.digests(key)) {
      const record = await client.hgetall(keys.record(digest));
      if (Object.keys(record).length === 0) continue;
      if (record.z !== undefined) return { owner: record.a, version: record.v ?? null, deleted: 'yes' };
      const body = record.b ?? (await client.get(keys.datum(record.d)));
      return { owner: record.a, version: record.v ?? null, datum: record.d, body };
    }
    return {};
  }

  async function expectSameReads(): Promise<void> {
    for (const key of KEYS) {
      expect({ key, ...(await visible(live, key)) }).toEqual({ key, ...(await visible(reference, key)) });
    }
  }

  /** Every record that points at a shared body finds the body, holding the record's attachment under its digest. */
  async function expectBodiesAttached(): Promise<void> {
    for (const key of KEYS) {
      for (const digest of rotating.digests(key)) {
        const record = await client.hgetall(live.record(digest));
        if (record.d === undefined || record.b !== undefined) continue;
        expect({ key, body: await client.exists(live.datum(record.d)) }).toEqual({ key, body: 1 });
        const attached = await client.hexists(live.datumRefs(record.d), `${digest}|${record.t}`);
        expect({ key, digest, attached }).toEqual({ key, digest, attached: 1 });
      }
    }
  }

  /** After the reconciler: every body has attachments, and each is held by the record it names. */
  async function expectEveryAttachmentHeld(): Promise<void> {
    for (const refsKey of await client.keys('sg:r:*')) {
      const datumId = refsKey.slice('sg:r:{'.length, -1);
      const fields = (await client.hkeys(refsKey)).filter((field) => !field.startsWith('#'));
      expect(fields.length).toBeGreaterThan(0);
      expect(attachedDigests(fields)).toHaveLength(fields.length);
      for (const field of fields) {
        const [digest, token] = field.split('|');
        const record = await client.hgetall(live.record(digest));
        expect({ field, record }).toEqual({ field, record: expect.objectContaining({ d: datumId, t: token }) });
      }
    }
    const bodies = (await client.keys('sg:d:*')).map((key) => key.slice('sg:d:'.length));
    const references = (await client.keys('sg:r:*')).map((key) => key.slice('sg:r:'.length));
    expect(bodies.sort()).toEqual(references.sort());
  }
});
