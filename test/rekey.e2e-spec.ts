import Redis from 'ioredis';
import mongoose from 'mongoose';
import request from 'supertest';
import { loadConfig } from '../src/config/app-config';
import { JournalStore } from '../src/store/journal-store';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordStore } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { ACME, ADMIN_KEY, eventually, GLOBEX, TestApp, withReadyApp } from './support/app';
import { readStoredDocuments, StoredDocument } from './support/bulk-records';
import { useHarness } from './support/harness';
import { ServiceProcess } from './support/service-process';

const SECRET_A = 'rekey-secret-a-0123456789';
const SECRET_B = 'rekey-secret-b-0123456789';
const underA = new WebhookKeyDigester(SECRET_A);
const underB = new WebhookKeyDigester(SECRET_B);
const rotating = new WebhookKeyDigester(SECRET_B, SECRET_A);
const onlyA = { WEBHOOK_KEY_SECRET: SECRET_A };
const rotated = { WEBHOOK_KEY_SECRET: '', WEBHOOK_KEY_SECRETS: `${SECRET_B},${SECRET_A}` };
const onlyB = { WEBHOOK_KEY_SECRET: SECRET_B };
const keys = new KeyLayout('sg:');

function withoutKeys<T>(documents: Map<string, T>, gone: string[]): Map<string, T> {
  return new Map([...documents].filter(([key]) => !gone.includes(key)));
}

interface Job {
  jobId: string;
  kind: string;
  status: 'running' | 'succeeded' | 'failed';
  progress: Record<string, number>;
  error?: string;
}

const admin = (url: string) => ({
  post: (path: string, body?: object) => request(url).post(path).set('x-api-key', ADMIN_KEY).send(body),
  get: (path: string) => request(url).get(path).set('x-api-key', ADMIN_KEY),
});

async function finishedJob(url: string, jobId: string, timeoutMs = 30_000): Promise<Job> {
  return eventually(
    async () => {
      const job = (await admin(url).get(`/admin/jobs/${jobId}`)).body as Job;
      return job.status === 'running' ? undefined : job;
    },
    timeoutMs,
    `job ${jobId} to finish`,
  );
}

async function rekey(url: string): Promise<Job> {
  const started = await admin(url).post('/admin/rekey');
  expect(started.status).toBe(202);
  return finishedJob(url, (started.body as { jobId: string }).jobId);
}

/** Every record key in Redis, and how many of them each listed secret holds (by the record's mask). */
async function recordsBySecret(inspect: Redis): Promise<{ underA: number; underB: number; total: number }> {
  const found = { underA: 0, underB: 0, total: 0 };
  let cursor = '0';
  do {
    const [next, page] = await inspect.scan(cursor, 'MATCH', `${keys.recordPrefix()}*`, 'COUNT', 1000);
    cursor = next;
    const masks = await Promise.all(page.map((key) => inspect.hget(key, 'h')));
    page.forEach((key, index) => {
      found.total++;
      const unmasked = rotating.unmask(keys.digestOfRecord(key) as string, masks[index] ?? '');
      if (unmasked?.secretIndex === 0) found.underB++;
      if (unmasked?.secretIndex === 1) found.underA++;
    });
  } while (cursor !== '0');
  return found;
}

/**
 * POST /admin/rekey (issue 13): keys written under secret A — inline and shared bodies, a versioned delete's
 * tombstone, an unversioned delete's marker, another account's key — read the same after a restart with `B,A`,
 * after the re-key job, and after a restart with B alone; the archive and a restore are part of it: a restore under
 * A brings back records with their masks, and after the re-key a restore under B alone brings everything back.
 */
describe('re-key of the webhook-key secret', () => {
  const harness = useHarness({ mongo: true });
  const withApp = (env: Record<string, string>, use: (app: TestApp) => Promise<void>) =>
    withReadyApp(harness().env(env), use);
  const submit = async (app: TestApp, apiKey: string, body: Record<string, unknown>) => {
    const answer = await request(app.url)
      .post('/v1/records')
      .set('x-api-key', apiKey)
      .send({ flowId: 'rekey', ...body });
    expect(answer.status).toBe(202);
  };
  const read = (app: TestApp, key: string) => request(app.url).get('/v1/data').set('x-webhook-key', key);
  const settle = async (app: TestApp, apiKey: string, accountId: string, sentinel: string) => {
    await submit(app, apiKey, { accountId, webhookKeys: [sentinel], data: { sentinel } });
    await eventually(async () => ((await read(app, sentinel)).status === 200 ? true : undefined));
  };
  const archiveRun = async (app: TestApp) => {
    const { runId } = (await admin(app.url).post('/admin/archive/runs')).body as { runId: string };
    await eventually(async () => {
      const run = (await admin(app.url).get(`/admin/archive/runs/${runId}`)).body as { status: string };
      return run.status === 'succeeded' ? true : undefined;
    });
  };

  /**
   * Every key a restore could write back (the datum not deleted, the key not ended) is named under `current`, with
   * a mask `current` opens. A datum the journal alone brought (written and ended between two runs) has no masks, and
   * keeps naming its ended keys under the older secret: never restored, they need no secret.
   */
  const expectArchiveUnder = async (current: WebhookKeyDigester, dropped: WebhookKeyDigester) => {
    const connection = await mongoose.createConnection(harness().mongo.uri).asPromise();
    try {
      const documents = await connection.collection('archived_records').find({}).toArray();
      const droppedDigests = new Set(all.map((key) => dropped.digest(key)));
      const currentDigests = new Set(all.map((key) => current.digest(key)));
      let restorable = 0;
      for (const document of documents) {
        const ended = (document.endedKeys ?? {}) as Record<string, unknown>;
        const masks = (document.masks ?? {}) as Record<string, string>;
        for (const digest of document.keys as string[]) {
          if (document.deleted === true || ended[digest] !== undefined) continue;
          expect(droppedDigests.has(digest)).toBe(false);
          if (currentDigests.has(digest)) restorable++;
          expect(current.unmask(digest, masks[digest])).toMatchObject({ secretIndex: 0 });
        }
        for (const [digest, mask] of Object.entries(masks)) {
          expect(current.unmask(digest, mask)).toMatchObject({ secretIndex: 0 });
        }
      }
      expect(restorable).toBeGreaterThanOrEqual(all.length - 2);
    } finally {
      await connection.close();
    }
  };

  const inline = Array.from({ length: 12 }, (_, n) => `rk-inline-${n}`);
  const shared = Array.from({ length: 30 }, (_, n) => `rk-shared-${n}`);
  const unversionedShared = Array.from({ length: 5 }, (_, n) => `rk-plain-${n}`);
  const tombstoned = 'rk-tombstone';
  const marked = 'rk-marker';
  const foreign = 'rk-globex';
  const all = [...inline, ...shared, ...unversionedShared, tombstoned, marked, foreign];
  /** Records lost from Redis (as after a failover without persistence), brought back by a restore. */
  const lost = [...inline.slice(0, 4), ...shared.slice(0, 10)];
  /** Records lost during the rotation (a restore is refused then): only the archive holds them when the job runs. */
  const lostInRotation = inline.slice(4, 8);

  it('moves every key to B so that A can be dropped, with the archive and restores before and after', async () => {
    const { inspect } = harness().redis;
    let written = new Map<string, StoredDocument>();
    await withApp(onlyA, async (app) => {
      for (const [index, key] of inline.entries()) {
        await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [key], data: { index }, version: 5 });
      }
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: shared, data: { shared: 1 }, version: 5 });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: unversionedShared, data: { plain: 1 } });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [tombstoned], data: 1, version: 1 });
      await submit(app, ACME.apiKey, { accountId: 'acme', op: 'delete', webhookKeys: [tombstoned], version: 9 });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [marked], data: 1 });
      await submit(app, ACME.apiKey, { accountId: 'acme', op: 'delete', webhookKeys: [marked] });
      await submit(app, GLOBEX.apiKey, { accountId: 'globex', webhookKeys: [foreign], data: 'globex', version: 1 });
      await settle(app, ACME.apiKey, 'acme', 'rk-sentinel-1');
      await settle(app, GLOBEX.apiKey, 'globex', 'rk-sentinel-2');
      written = await readStoredDocuments(app.url, all);
      expect(written.size).toBe(all.length - 2);

      // The archive holds every key with its mask; some records are then lost, and a restore under A brings them
      // back with their masks (without one, the re-key could not move them).
      await archiveRun(app);
      await inspect.del(...lost.map((key) => keys.record(underA.digest(key))));
      expect((await readStoredDocuments(app.url, all)).size).toBe(written.size - lost.length);
      expect((await admin(app.url).post('/admin/archive/restore', {})).body).toMatchObject({ restored: lost.length });
      expect(await readStoredDocuments(app.url, all)).toEqual(written);
      // The lost shared keys' attachments stayed on their body (the loss removed only the records): the restore
      // attached the keys anew, and the reconciler removes the old ones, so that the re-key starts from a clean state.
      expect(await app.app.get(ReferenceReconciler, { strict: false }).reconcile(0)).toMatchObject({
        unheldAttachments: 10,
        datumsFreed: 0,
      });
    });
    for (const key of all) {
      expect(await inspect.hget(keys.record(underA.digest(key)), 'h')).toBe(underA.digested(key).mask);
    }
    const beforeRekey = await recordsBySecret(inspect);
    expect(beforeRekey).toEqual({ underA: beforeRekey.total, underB: 0, total: all.length + 2 });

    await withApp(rotated, async (app) => {
      expect(await readStoredDocuments(app.url, all)).toEqual(written);
      await inspect.del(...lostInRotation.map((key) => keys.record(underA.digest(key))));
      const job = await rekey(app.url);
      expect(job).toMatchObject({ kind: 'rekey', status: 'succeeded' });
      expect(job.progress).toEqual({
        scanned: beforeRekey.total - lostInRotation.length,
        moved: beforeRekey.total - lostInRotation.length,
        alreadyCurrent: 0,
        superseded: 0,
        unmovable: 0,
        archiveMoved: expect.any(Number),
        archiveUnmovable: 0,
      });
      // The job's archive run copied the live data under B already; the datums of the keys lost meanwhile move by
      // their masks.
      expect(job.progress.archiveMoved).toBeGreaterThanOrEqual(4);
      await expectArchiveUnder(underB, underA);
      expect(await readStoredDocuments(app.url, all)).toEqual(withoutKeys(written, lostInRotation));
      // Every attachment of the shared bodies moved with its key: the reconciler finds nothing unheld.
      expect(await app.app.get(ReferenceReconciler, { strict: false }).reconcile(0)).toMatchObject({
        unheldAttachments: 0,
        datumsFreed: 0,
      });
      // A second run finds everything current.
      expect((await rekey(app.url)).progress).toMatchObject({
        moved: 0,
        alreadyCurrent: beforeRekey.total - lostInRotation.length,
        archiveMoved: 0,
      });
    });
    const afterRekey = beforeRekey.total - lostInRotation.length;
    expect(await recordsBySecret(inspect)).toEqual({ underA: 0, underB: afterRekey, total: afterRekey });
    for (const key of all) expect(await inspect.exists(keys.record(underA.digest(key)))).toBe(0);
    for (const key of lostInRotation) expect(await inspect.exists(keys.record(underB.digest(key)))).toBe(0);
    expect(await inspect.pttl(keys.record(underB.digest(tombstoned)))).toBeGreaterThan(0);

    await withApp(onlyB, async (app) => {
      // A dropped: the keys lost during the rotation come back from the archive, which names them under B.
      expect(await readStoredDocuments(app.url, all)).toEqual(withoutKeys(written, lostInRotation));
      expect((await admin(app.url).post('/admin/archive/restore', {})).body).toMatchObject({
        restored: lostInRotation.length,
      });
      expect(await readStoredDocuments(app.url, all)).toEqual(written);
      for (const key of [inline[5], shared[12], tombstoned, marked, foreign]) {
        const answer = await read(app, key);
        expect(answer.status === 200 ? answer.body : null).toEqual(written.get(key) ?? null);
      }
      // The tombstone and the owner moved too, and still guard.
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [tombstoned], data: 'back', version: 8 });
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [foreign], data: 'taken' });
      await settle(app, ACME.apiKey, 'acme', 'rk-sentinel-3');
      expect(await readStoredDocuments(app.url, all)).toEqual(written);

      // With one secret the job moves nothing and succeeds.
      expect((await rekey(app.url)).progress).toMatchObject({ moved: 0, unmovable: 0, archiveUnmovable: 0 });

      // The archive names the keys under B now: after a loss, a restore under B alone brings them back.
      await inspect.del(...lost.map((key) => keys.record(underB.digest(key))));
      expect((await readStoredDocuments(app.url, all)).size).toBe(written.size - lost.length);
      expect((await admin(app.url).post('/admin/archive/restore', {})).body).toMatchObject({ restored: lost.length });
      expect(await readStoredDocuments(app.url, all)).toEqual(written);
    });
  }, 90_000);

  it('moves an archived key whose record Redis lost before any snapshot, by the mask its journal entry carried', async () => {
    const { inspect } = harness().redis;
    const key = 'rk-journal-only';
    await withApp(onlyA, async (app) => {
      await submit(app, ACME.apiKey, { accountId: 'acme', webhookKeys: [key], data: { journal: 1 }, version: 1 });
      await settle(app, ACME.apiKey, 'acme', 'rk-sentinel-4');
      // Lost before any snapshot: the archive learns of the key from the journal alone.
      await inspect.del(keys.record(underA.digest(key)));
      await archiveRun(app);
    });
    await withApp(rotated, async (app) => {
      // Without the mask in the journal entry, the archived key could not be moved: archiveUnmovable 1.
      expect((await rekey(app.url)).progress).toMatchObject({ archiveUnmovable: 0 });
    });
    await withApp(onlyB, async (app) => {
      await admin(app.url).post('/admin/archive/restore', {});
      const answer = await read(app, key);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ data: { journal: 1 } });
    });
  }, 60_000);
});

/**
 * The re-key job killed with SIGKILL half way through many records (a service process), then taken over by another
 * process and finished: every record under B, every shared body's attachments renamed, every key reads as written.
 */
describe('re-key killed with SIGKILL half way', () => {
  const harness = useHarness();
  const MESSAGES = 24;
  const KEYS_PER_MESSAGE = 1000;
  const INLINE = 2000;
  const sharedKey = (message: number, n: number) => `rk-kill-${message}-${n}`;
  const inlineKey = (n: number) => `rk-kill-inline-${n}`;

  it('is taken over by another process and finishes, nothing lost, nothing left under A', async () => {
    const { inspect } = harness().redis;
    const env = harness().env(onlyA);
    const config = loadConfig(env);
    const client = new Redis(config.redis.url);
    try {
      const store = new RecordStore(client, keys, underA, new JournalStore(client, keys, config), config);
      const now = Date.now();
      for (let message = 0; message < MESSAGES; message++) {
        const webhookKeys = Array.from({ length: KEYS_PER_MESSAGE }, (_, n) => sharedKey(message, n));
        const dataJson = JSON.stringify({ message });
        await store.write(
          { op: 'set', accountId: 'acme', flowId: 'kill', webhookKeys, dataJson },
          { datumId: `kill-${message}`, ttlSeconds: null, now },
        );
      }
      for (let start = 0; start < INLINE; start += 200) {
        await Promise.all(
          Array.from({ length: 200 }, (_, offset) =>
            store.write(
              {
                op: 'set',
                accountId: 'acme',
                flowId: 'kill',
                webhookKeys: [inlineKey(start + offset)],
                dataJson: `${start + offset}`,
              },
              { datumId: `kill-inline-${start + offset}`, ttlSeconds: null, now },
            ),
          ),
        );
      }
    } finally {
      client.disconnect();
    }
    const total = MESSAGES * KEYS_PER_MESSAGE + INLINE;
    expect(await recordsBySecret(inspect)).toEqual({ underA: total, underB: 0, total });

    const first: ServiceProcess = await harness().spawnService({ APP_ROLES: 'admin', LOG_LEVEL: 'info', ...rotated });
    await eventually(async () => ((await fetch(`${first.url}/health/ready`)).ok ? true : undefined), 20_000);
    const started = await admin(first.url).post('/admin/rekey');
    expect(started.status).toBe(202);
    const { jobId } = started.body as { jobId: string };
    await eventually(
      async () => {
        const { progress } = (await admin(first.url).get(`/admin/jobs/${jobId}`)).body as Job;
        return progress.moved > 0 && progress.scanned < total / 2 ? true : undefined;
      },
      20_000,
      'the re-key to be under way',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const halfway = await recordsBySecret(inspect);
    expect(halfway.underA).toBeGreaterThan(0);
    expect(halfway.underB).toBeGreaterThan(0);

    const second = await harness().spawnService({ APP_ROLES: 'admin', LOG_LEVEL: 'info', ...rotated });
    await eventually(async () => ((await fetch(`${second.url}/health/ready`)).ok ? true : undefined), 20_000);
    // The job is still running (nobody holds it until its lease runs out): a second re-key is refused meanwhile.
    expect((await admin(second.url).post('/admin/rekey')).status).toBe(409);
    // So is an erasure: its walk could miss a record the re-key renames under it.
    const erasure = await request(second.url).delete('/admin/accounts/acme/data').set('x-api-key', ADMIN_KEY);
    expect(erasure.status).toBe(409);
    const job = await finishedJob(second.url, jobId, 60_000);
    expect(job.status).toBe('succeeded');
    expect(job.progress.unmovable).toBe(0);
    expect(await recordsBySecret(inspect)).toEqual({ underA: 0, underB: total, total });

    // Each shared body holds one attachment per key, under its B digest, and each record points at it.
    for (let message = 0; message < MESSAGES; message++) {
      const fields = (await inspect.hkeys(keys.datumRefs(`kill-${message}`))).filter((field) => field.includes('|'));
      const expected = Array.from({ length: KEYS_PER_MESSAGE }, (_, n) => underB.digest(sharedKey(message, n)));
      expect(fields.map((field) => field.slice(0, field.indexOf('|'))).sort()).toEqual(expected.sort());
    }

    const reader = await harness().startApp({ APP_ROLES: 'query', ...onlyB });
    await eventually(async () => ((await fetch(`${reader.url}/health/ready`)).ok ? true : undefined), 20_000);
    const sample = [
      ...Array.from({ length: MESSAGES }, (_, message) => sharedKey(message, (message * 37) % KEYS_PER_MESSAGE)),
      ...Array.from({ length: 100 }, (_, n) => inlineKey(n * 19)),
    ];
    const documents = await readStoredDocuments(reader.url, sample);
    expect(documents.size).toBe(sample.length);
    for (let message = 0; message < MESSAGES; message++) {
      expect(documents.get(sharedKey(message, (message * 37) % KEYS_PER_MESSAGE))?.data).toEqual({ message });
    }
    for (let n = 0; n < 100; n++) expect(documents.get(inlineKey(n * 19))?.data).toBe(n * 19);
  }, 90_000);
});
