import fc from 'fast-check';
import Redis from 'ioredis';
import { loadConfig } from '../src/config/app-config';
import { RecordMessage } from '../src/message/record-message.validation';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { attachedDigests, RecordStore } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { WEBHOOK_KEY_SECRET } from './support/app';
import { RedisServer } from './support/redis-server';
import { diedOf, scheduledClient } from './support/scheduled-redis';

/**
 * A model-based concurrency test of the store against a real redis-server. fast-check's scheduler drives several
 * simulated workers through the real Lua scripts, one Redis command at a time in an order it chooses: the same
 * message applied twice at once (two workers after a visibility timeout), workers that die between any two steps
 * and whose message is delivered again, restores of live data running alongside. After quiescence it checks the
 * integrity rules: no key points at a missing body; after the reconciler, every attachment is held by its key and
 * no body is left without one; and no key's data went backwards in version.
 *
 * STORE_MODEL_RUNS sets the number of runs (default 500, about 30 s); a failure prints the seed and path to replay.
 */
const RUNS = Number(process.env.STORE_MODEL_RUNS ?? 500);
const KEYS = ['model-key-a', 'model-key-b', 'model-key-c', 'model-key-d'];
const TOMBSTONE_TTL_SECONDS = 3600;

/** The methods of the Redis client that RecordStore calls; each call becomes one step the scheduler orders. */
const STEPS = new Set(['evalsha', 'eval', 'attachDatum', 'releaseDatum', 'get', 'hget']);

interface ModelMessage {
  datumId: string;
  message: RecordMessage;
  /** Steps the first attempt takes before its worker dies; null when it does not die. */
  diesAfter: number | null;
  /** Delivered twice at once, as to two workers after a visibility timeout. */
  twice: boolean;
  /** An archive restore of this message's datum runs alongside, once the message is applied. */
  restored: boolean;
}

type MessageDraft = Omit<ModelMessage, 'message'> & { op: 'set' | 'delete'; keys: string[]; versioned: boolean };

const messageArbitrary = (index: number): fc.Arbitrary<MessageDraft> =>
  fc.record({
    datumId: fc.constant(`m-${index}`),
    op: fc.constantFrom<'set' | 'delete'>('set', 'set', 'delete'),
    keys: fc.subarray(KEYS, { minLength: 1 }),
    diesAfter: fc.option(fc.nat({ max: 5 }), { freq: 2 }),
    twice: fc.boolean(),
    restored: fc.boolean(),
    versioned: fc.nat({ max: 4 }).map((draw) => draw !== 0),
  });

/**
 * 2 to 6 messages. Most carry their own version (a permutation), so the model knows which one must win a key that
 * only versioned messages name; about one in five carries none, as producers may send.
 */
const scenarioArbitrary: fc.Arbitrary<ModelMessage[]> = fc
  .integer({ min: 2, max: 6 })
  .chain((count) =>
    fc.tuple(
      fc.tuple(...Array.from({ length: count }, (_, index) => messageArbitrary(index))),
      fc.shuffledSubarray(
        Array.from({ length: count }, (_, index) => index + 1),
        { minLength: count, maxLength: count },
      ),
    ),
  )
  .map(([drafts, versions]) =>
    drafts.map(({ op, keys, versioned, ...draft }, index) => ({
      ...draft,
      message: {
        op,
        accountId: 'acme',
        flowId: 'model',
        webhookKeys: keys,
        ...(versioned && { version: versions[index] }),
        ...(op === 'set' && { dataJson: JSON.stringify({ from: draft.datumId }) }),
      },
    })),
  );

/** The store as on a cluster: a shared body is attached by attach-datum.lua before the apply call. */
class TwoStepRecordStore extends RecordStore {
  protected override readonly attachesInApplyCall = false;
}

describe('RecordStore under concurrent, crashing and replayed writes (model-based)', () => {
  let redis: RedisServer;
  let client: Redis;
  const keys = new KeyLayout('sg:');
  const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);
  const config = loadConfig({
    APP_ROLES: 'query',
    WEBHOOK_KEY_SECRET,
    TOMBSTONE_TTL_SECONDS: String(TOMBSTONE_TTL_SECONDS),
  });

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = new Redis(redis.url);
  });

  afterAll(async () => {
    client?.disconnect();
    await redis?.destroy();
  });

  /**
   * A RecordStore whose every Redis call first waits for the scheduler's turn; after `diesAfter` calls the worker
   * dies (the call and every later one throw), as a process killed between two steps.
   */
  function workerStore(
    scheduler: fc.Scheduler,
    diesAfter: number | null,
    inFlight: Set<Promise<unknown>>,
    twoStep: boolean,
  ): RecordStore {
    const stepped = scheduledClient(client, STEPS, scheduler, diesAfter, inFlight);
    const Store = twoStep ? TwoStepRecordStore : RecordStore;
    return new Store(stepped, keys, digester, new JournalStore(stepped, keys, config), config);
  }

  /** Delivers a message until one attempt completes: a died attempt is redelivered, as SQS would. */
  async function deliver(store: () => RecordStore, first: RecordStore, model: ModelMessage): Promise<void> {
    const context = { datumId: model.datumId, ttlSeconds: null, now: Date.now() };
    try {
      await first.write(model.message, context);
      return;
    } catch (error) {
      // The store reports any failure of a Redis call as Redis being unavailable; the cause tells a death apart.
      if (!diedOf(error)) throw error;
    }
    await store().write(model.message, { ...context, now: Date.now() });
  }

  async function restoreLive(store: RecordStore, model: ModelMessage): Promise<void> {
    const body = await client.get(keys.datum(model.datumId));
    const inline = await client.hget(keys.record(digester.digest(model.message.webhookKeys[0])), 'b');
    await store.restore({
      datumId: model.datumId,
      accountId: 'acme',
      version: model.message.version ?? null,
      body: body ?? inline ?? `{"data":${model.message.dataJson}}`,
      digests: model.message.webhookKeys.map((key) => digester.digest(key)),
      masks: model.message.webhookKeys.map((key) => digester.digested(key).mask),
      expiresAt: null,
      storedAt: Date.now(),
    });
  }

  it(`keeps every integrity rule over ${RUNS} random interleavings`, async () => {
    await fc.assert(
      // twoStep: the shared body attached in a call of its own before the apply (as on a cluster), with the steps
      // between them that other writes can interleave with; otherwise by the apply call itself (a single server).
      fc.asyncProperty(fc.scheduler(), scenarioArbitrary, fc.boolean(), async (scheduler, scenario, twoStep) => {
        await client.flushall();
        const inFlight = new Set<Promise<unknown>>();
        const fresh = () => workerStore(scheduler, null, inFlight, twoStep);
        const work = scenario.flatMap((model) => {
          const delivered = deliver(fresh, workerStore(scheduler, model.diesAfter, inFlight, twoStep), model);
          return [
            delivered,
            ...(model.twice
              ? [fresh().write(model.message, { datumId: model.datumId, ttlSeconds: null, now: Date.now() })]
              : []),
            ...(model.restored && model.message.op === 'set'
              ? [delivered.then(() => restoreLive(fresh(), model))]
              : []),
          ];
        });
        // One step at a time: each released call runs to its reply before the scheduler picks the next.
        await scheduler.waitFor(Promise.all(work), async (release) => {
          await release();
          await new Promise((resolve) => setImmediate(resolve));
          while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        });

        await expectNoKeyPointsAtMissingBody();
        await expectWinnersStored(scenario);
        await new ReferenceReconciler(client, keys).reconcile(0);
        await expectEveryAttachmentHeld();
        await expectWinnersStored(scenario);
      }),
      { numRuns: RUNS, verbose: 1 },
    );
  });

  async function records(): Promise<Map<string, Record<string, string>>> {
    const found = new Map<string, Record<string, string>>();
    for (const key of KEYS) found.set(key, await client.hgetall(keys.record(digester.digest(key))));
    return found;
  }

  async function expectNoKeyPointsAtMissingBody(): Promise<void> {
    for (const [key, record] of await records()) {
      if (record.d === undefined || record.b !== undefined) continue;
      expect({ key, bodyExists: await client.exists(keys.datum(record.d)) }).toEqual({ key, bodyExists: 1 });
      const attachments = await client.hkeys(keys.datumRefs(record.d));
      expect({ key, attached: attachments.includes(`${digester.digest(key)}|${record.t}`) }).toEqual({
        key,
        attached: true,
      });
    }
  }

  /**
   * Per key named only by versioned messages, the one with the highest version decides what the key holds: its data
   * or a tombstone. (Without versions, concurrent messages may land in any order, which is the contract.)
   */
  async function expectWinnersStored(scenario: ModelMessage[]): Promise<void> {
    const held = await records();
    for (const key of KEYS) {
      const contenders = scenario.filter((model) => model.message.webhookKeys.includes(key));
      if (contenders.some((model) => model.message.version === undefined)) continue;
      const winner = contenders.sort((a, b) => (b.message.version ?? 0) - (a.message.version ?? 0))[0];
      const record = held.get(key) ?? {};
      const expected =
        winner === undefined
          ? {}
          : winner.message.op === 'delete'
            ? { v: String(winner.message.version), tombstone: true }
            : { v: String(winner.message.version), d: winner.datumId };
      const actual =
        Object.keys(record).length === 0
          ? {}
          : record.z !== undefined
            ? { v: record.v, tombstone: true }
            : { v: record.v, d: record.d };
      expect({ key, ...actual }).toEqual({ key, ...expected });
    }
  }

  async function expectEveryAttachmentHeld(): Promise<void> {
    const held = await records();
    const bodies = (await client.keys('sg:d:*')).sort();
    const references = (await client.keys('sg:r:*')).sort();
    expect(references.map((key) => key.replace('sg:r:', ''))).toEqual(bodies.map((key) => key.replace('sg:d:', '')));
    for (const refsKey of references) {
      const datumId = refsKey.slice('sg:r:{'.length, -1);
      const fields = (await client.hkeys(refsKey)).filter((field) => !field.startsWith('#'));
      expect(fields.length).toBeGreaterThan(0);
      expect(attachedDigests(fields)).toHaveLength(fields.length);
      for (const field of fields) {
        const [digest, token] = field.split('|');
        const key = KEYS.find((candidate) => digester.digest(candidate) === digest) ?? digest;
        expect({ field, held: held.get(key) }).toEqual({
          field,
          held: expect.objectContaining({ d: datumId, t: token }),
        });
      }
    }
  }
});
