import request from 'supertest';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordStore } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { ACME, ADMIN_KEY, eventually, GLOBEX, TestApp, withReadyApp } from './support/app';
import { StoredDocument, readStoredDocuments } from './support/bulk-records';
import { useHarness } from './support/harness';

const SECRET_A = 'rotation-secret-a-0123456789';
const SECRET_B = 'rotation-secret-b-0123456789';
const underA = new WebhookKeyDigester(SECRET_A);
const underB = new WebhookKeyDigester(SECRET_B);
const keys = new KeyLayout('sg:');

/**
 * WEBHOOK_KEY_SECRETS: data written under secret A stays readable, owned and versioned after a restart with `B,A`,
 * and every write or delete under B leaves the key one record, so no key ever reads older data.
 */
describe('webhook-key secret rotation', () => {
  // With MongoDB, so that every write is journalled and the archive and restore can be judged under rotation.
  const harness = useHarness({ mongo: true });
  const onlyA = { WEBHOOK_KEY_SECRET: SECRET_A };
  const rotated = { WEBHOOK_KEY_SECRET: '', WEBHOOK_KEY_SECRETS: `${SECRET_B},${SECRET_A}` };
  const withApp = (env: Record<string, string>, use: (app: TestApp) => Promise<void>) =>
    withReadyApp(harness().env(env), use);

  const submit = async (app: TestApp, apiKey: string, body: Record<string, unknown>): Promise<string> => {
    const answer = await request(app.url)
      .post('/v1/records')
      .set('x-api-key', apiKey)
      .send({ flowId: 'rotation', ...body });
    expect(answer.status).toBe(202);
    return (answer.body as { messageId: string }).messageId;
  };
  const read = (app: TestApp, key: string) => request(app.url).get('/v1/data').set('x-webhook-key', key);
  /** Messages of one group apply in order: once the sentinel reads, every earlier message of the group is applied. */
  const settle = async (app: TestApp, apiKey: string, accountId: string, sentinel: string) => {
    await submit(app, apiKey, { accountId, webhookKeys: [sentinel], data: { sentinel } });
    await eventually(async () => ((await read(app, sentinel)).status === 200 ? true : undefined));
  };

  const inline = ['rot-inline-0', 'rot-inline-1', 'rot-inline-2', 'rot-inline-3'];
  const shared = ['rot-shared-0', 'rot-shared-1', 'rot-shared-2', 'rot-shared-3'];
  const foreign = 'rot-globex-0';
  const deletedWithVersion = 'rot-tombstone-0';
  const all = [...inline, ...shared, foreign, deletedWithVersion];
  let written: Map<string, StoredDocument>;
  let sharedDatum: string;

  it('reads every key written under A after a restart with B,A, one key at a time and in a batch', async () => {
    await withApp(onlyA, async (app) => {
      for (const [index, key] of inline.entries()) {
        await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [key], data: { index }, version: 5 });
      }
      sharedDatum = await submit(app, ACME.apiKey, {
        accountId: 'acme',
        webhookKeys: shared,
        data: { shared: true },
        version: 5,
      });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [deletedWithVersion], data: 1, version: 1 });
      await submit(app, ACME.apiKey, {
        accountId: 'acme',
        op: 'delete',
        webhookKeys: [deletedWithVersion],
        version: 9,
      });
      await submit(app, GLOBEX.apiKey, { accountId: 'globex', webhookKeys: [foreign], data: 'globex', version: 1 });
      await settle(app, ACME.apiKey, 'acme', 'rot-sentinel-1');
      await settle(app, GLOBEX.apiKey, 'globex', 'rot-sentinel-2');
      written = await readStoredDocuments(app.url, all);
    });
    expect([...written.keys()].sort()).toEqual(all.filter((key) => key !== deletedWithVersion).sort());

    await withApp(rotated, async (app) => {
      expect(await readStoredDocuments(app.url, all)).toEqual(written);
      for (const key of all) {
        const answer = await read(app, key);
        expect(answer.status === 200 ? answer.body : null).toEqual(written.get(key) ?? null);
      }
    });
  });

  it('under B,A: overwrites and deletes move keys off A, and A records still guard versions and ownership', async () => {
    const expectAfterChanges = async (app: TestApp) => {
      const now = await readStoredDocuments(app.url, all);
      expect(now.get(inline[0])).toMatchObject({ data: 'new-0', version: 6 });
      expect(now.get(inline[1])).toMatchObject({ data: 'new-1', version: null });
      expect(now.has(inline[2])).toBe(false);
      expect(now.get(inline[3])).toEqual(written.get(inline[3]));
      expect(now.get(shared[0])).toMatchObject({ data: 'new-s0', version: 6 });
      expect(now.has(shared[1])).toBe(false);
      for (const key of [shared[2], shared[3], foreign]) expect(now.get(key)).toEqual(written.get(key));
      expect(now.has(deletedWithVersion)).toBe(false);
      for (const key of all) {
        const single = await read(app, key);
        expect(single.status === 200 ? single.body : null).toEqual(now.get(key) ?? null);
      }
    };

    await withApp(rotated, async (app) => {
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [inline[0]], data: 'new-0', version: 6 });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [inline[1]], data: 'new-1' });
      await submit(app, ACME.apiKey, { accountId: 'acme', op: 'delete', webhookKeys: [inline[2]], version: 7 });
      // Stale: the record under A holds version 5.
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [inline[3]], data: 'older', version: 4 });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [shared[0]], data: 'new-s0', version: 6 });
      await submit(app, ACME.apiKey, { accountId: 'acme', op: 'delete', webhookKeys: [shared[1]] });
      // Foreign: globex owns it under A.
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [foreign], data: 'taken' });
      // Stale: the tombstone under A holds version 9.
      await submit(app, ACME.apiKey, {
        accountId: 'acme',
        webhookKeys: [deletedWithVersion],
        data: 'back',
        version: 8,
      });
      await settle(app, ACME.apiKey, 'acme', 'rot-sentinel-3');
      await expectAfterChanges(app);

      // The archive learns that the keys it holds under A were overwritten or deleted, so a restore brings none of
      // their old data back, not even under A where the keys have no record any more.
      const admin = (path: string, body?: object) =>
        request(app.url).post(`/admin/archive${path}`).set('x-api-key', ADMIN_KEY).send(body);
      const { runId } = (await admin('/runs')).body as { runId: string };
      await eventually(async () => {
        const run = await request(app.url).get(`/admin/archive/runs/${runId}`).set('x-api-key', ADMIN_KEY);
        return (run.body as { status: string }).status === 'succeeded' ? true : undefined;
      });
      // A restore under rotation could write beside a key's record under the other secret: it is refused.
      const restore = await admin('/restore', {});
      expect(restore.status).toBe(409);
      await expectAfterChanges(app);
    });

    const { inspect } = harness().redis;
    const recordsOf = async (key: string) => [
      await inspect.exists(keys.record(underA.digest(key))),
      await inspect.exists(keys.record(underB.digest(key))),
    ];
    for (const key of [inline[0], inline[1], shared[0]]) expect(await recordsOf(key)).toEqual([0, 1]);
    // The versioned delete leaves its tombstone under B only; the unversioned one a marker of the delete (no data),
    // with the key's mask (h) for a later re-key.
    expect(await recordsOf(inline[2])).toEqual([0, 1]);
    expect(await recordsOf(shared[1])).toEqual([0, 1]);
    const marker = await inspect.hgetall(keys.record(underB.digest(shared[1])));
    expect(Object.keys(marker).sort()).toEqual(['a', 'g', 'h', 'p', 's', 'z']);
    // What the delete ended, for its replay: the shared body, held under A (the key's second record), by its token.
    expect(marker.p).toMatch(new RegExp(`^[^|]+\\|0\\|1\\|[^|]+\\|${sharedDatum}$`));
    // Refused writes leave the A records as they were.
    for (const key of [inline[3], foreign, deletedWithVersion]) expect(await recordsOf(key)).toEqual([1, 0]);
    // The shared body keeps the attachments of the keys still on it, and only those.
    const attached = (await inspect.hkeys(keys.datumRefs(sharedDatum))).filter((field) => !field.startsWith('#'));
    expect(attached.map((field) => field.slice(0, field.indexOf('|'))).sort()).toEqual(
      [underA.digest(shared[2]), underA.digest(shared[3])].sort(),
    );

    await withApp(rotated, expectAfterChanges);
  });

  it('moves the keys left under A to B (re-key, from the masks of the records), after which A can be dropped with nothing lost', async () => {
    const leftUnderA = [inline[3], shared[2], shared[3], foreign, deletedWithVersion];
    let before: Map<string, StoredDocument> = new Map();
    await withApp(rotated, async (app) => {
      before = await readStoredDocuments(app.url, all);
      const store = app.app.get(RecordStore, { strict: false });
      /** One walk over every record, as the re-key job does it (its resumption is judged in rekey.e2e-spec.ts). */
      const rekeyAll = async () => {
        const total = { moved: 0, alreadyCurrent: 0, superseded: 0, unmovable: 0 };
        for await (const { recordKeys } of store.scanRecordKeys({ node: 0, cursor: '0' }, 100)) {
          const counts = await store.rekeyRecords(recordKeys);
          for (const name of Object.keys(total) as Array<keyof typeof total>) total[name] += counts[name];
        }
        return total;
      };
      // The five keys and the two sentinels written under A move; the six records written under B stay.
      expect(await rekeyAll()).toEqual({
        moved: leftUnderA.length + 2,
        alreadyCurrent: 6,
        superseded: 0,
        unmovable: 0,
      });
      expect(await rekeyAll()).toEqual({ moved: 0, alreadyCurrent: 13, superseded: 0, unmovable: 0 });
      expect(await readStoredDocuments(app.url, all)).toEqual(before);
      // Every attachment of the shared body moved with its key, so the reconciler finds nothing unheld.
      expect(await app.app.get(ReferenceReconciler, { strict: false }).reconcile(0)).toMatchObject({
        unheldAttachments: 0,
        datumsFreed: 0,
      });
    });

    const { inspect } = harness().redis;
    for (const key of leftUnderA) {
      expect(await inspect.exists(keys.record(underA.digest(key)))).toBe(0);
      expect(await inspect.exists(keys.record(underB.digest(key)))).toBe(1);
    }
    expect(await inspect.pttl(keys.record(underB.digest(deletedWithVersion)))).toBeGreaterThan(0);

    await withApp({ WEBHOOK_KEY_SECRET: SECRET_B }, async (app) => {
      expect(await readStoredDocuments(app.url, all)).toEqual(before);
      // The tombstone and the foreign owner moved too, and still hold.
      await submit(app, ACME.apiKey, {
        accountId: 'acme',
        webhookKeys: [deletedWithVersion],
        data: 'back',
        version: 8,
      });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [foreign], data: 'taken' });
      await settle(app, ACME.apiKey, 'acme', 'rot-sentinel-4');
      expect(await readStoredDocuments(app.url, all)).toEqual(before);
    });
  });
});
