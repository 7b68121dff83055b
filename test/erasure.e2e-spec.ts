import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ACME, ADMIN_KEY, eventually, GLOBEX } from './support/app';
import { useHarness } from './support/harness';
import { journalEntries } from './support/journal';

interface Job {
  status: string;
  progress: Record<string, number>;
}

describe('erasure of an account', () => {
  const harness = useHarness({ mongo: true, apps: 1, env: { ARCHIVE_CRON: '0 0 1 1 *' } });
  const app = () => harness().apps[0];
  const admin = () => ({
    get: (path: string) => request(app().url).get(path).set('x-api-key', ADMIN_KEY),
    post: (path: string, body?: object) => request(app().url).post(path).set('x-api-key', ADMIN_KEY).send(body),
    put: (path: string, body: object) => request(app().url).put(path).set('x-api-key', ADMIN_KEY).send(body),
    delete: (path: string) => request(app().url).delete(path).set('x-api-key', ADMIN_KEY),
  });
  const key = (name: string) => `wh-erase-${name}-${randomUUID()}`;

  async function send(producer: { apiKey: string; accountId: string }, body: Record<string, unknown>) {
    const accepted = await request(app().url)
      .post('/v1/records')
      .set('x-api-key', producer.apiKey)
      .send({ accountId: producer.accountId, flowId: 'erasure', ...body });
    expect(accepted.status).toBe(202);
    const messageId = (accepted.body as { messageId: string }).messageId;
    await eventually(async () => {
      const status = await request(app().url).get(`/v1/records/${messageId}`).set('x-api-key', producer.apiKey);
      return status.status === 200 ? true : undefined;
    });
  }

  const read = async (webhookKey: string) =>
    (await request(app().url).get('/v1/data').set('x-webhook-key', webhookKey)).status;

  async function finished(path: string, id: string): Promise<Job> {
    return eventually(
      async () => {
        const job = (await admin().get(`${path}/${id}`)).body as Job;
        return job.status === 'running' ? undefined : job;
      },
      60_000,
      `${path}/${id} to finish`,
    );
  }

  it("removes an account's data everywhere, while another account writes; a restore brings none of it back", async () => {
    await eventually(async () => ((await request(app().url).get('/health/ready')).status === 200 ? true : undefined));
    const acme = { single: key('single'), sharedA: key('shared-a'), sharedB: key('shared-b') };
    const acmeDeleted = { versioned: key('versioned'), unversioned: key('unversioned') };
    const globexKeys = [key('g1'), key('g2')];
    await send(ACME, { webhookKeys: [acme.single], data: { n: 1 } });
    await send(ACME, { webhookKeys: [acme.sharedA, acme.sharedB], data: { n: 2 } });
    await send(ACME, { webhookKeys: [acmeDeleted.versioned], data: 'v', version: 3 });
    await send(ACME, { op: 'delete', webhookKeys: [acmeDeleted.versioned], version: 4 });
    await send(ACME, { webhookKeys: [acmeDeleted.unversioned], data: 'u' });
    await send(ACME, { op: 'delete', webhookKeys: [acmeDeleted.unversioned] });
    await send(GLOBEX, { webhookKeys: globexKeys, data: { kept: true } });
    expect((await admin().put('/admin/ttl-policies/accounts/acme', { ttlSeconds: 3600 })).status).toBe(200);

    const run = (await admin().post('/admin/archive/runs')).body as { runId: string };
    expect((await finished('/admin/archive/runs', run.runId)).status).toBe('succeeded');
    // Written after the run: only the journal holds its copy.
    const afterRun = key('after-run');
    await send(ACME, { webhookKeys: [afterRun], data: 'late' });

    // globex keeps writing while acme is erased.
    const globexDuring = Array.from({ length: 10 }, (_, n) => key(`during-${n}`));
    const writing = Promise.all(globexDuring.map((webhookKey) => send(GLOBEX, { webhookKeys: [webhookKey], data: 1 })));
    const erase = await admin().delete('/admin/accounts/acme/data');
    expect(erase.status).toBe(202);
    const job = await finished('/admin/jobs', (erase.body as { jobId: string }).jobId);
    await writing;
    expect(job.status).toBe('succeeded');
    expect(job.progress).toMatchObject({ policies: 1, archivedPolicies: 1 });
    expect(job.progress.records).toBeGreaterThanOrEqual(6);
    expect(job.progress.archivedRecords).toBeGreaterThanOrEqual(2);

    const acmeKeys = [...Object.values(acme), ...Object.values(acmeDeleted), afterRun];
    for (const webhookKey of acmeKeys) expect(await read(webhookKey)).toBe(404);
    expect((await admin().get('/admin/ttl-policies/accounts/acme')).status).toBe(404);
    const { inspect } = harness().redis;
    const records = await inspect.keys('sg:k:*');
    const owners = await Promise.all(records.map((record) => inspect.hget(record, 'a')));
    expect(owners).not.toContain('acme');
    const journal = await journalEntries(inspect);
    expect(journal.length).toBeGreaterThan(0);
    expect(journal.filter(([, , fields]) => fields.includes('acme'))).toEqual([]);
    const connection = await mongoose.createConnection(harness().mongo.uri).asPromise();
    try {
      const db = connection.db;
      if (db === undefined) throw new Error('no database');
      const collections = (await db.listCollections().toArray()).map(({ name }) => name);
      for (const name of collections) {
        expect({ name, acme: await db.collection(name).countDocuments({ accountId: 'acme' }) }).toEqual({
          name,
          acme: 0,
        });
      }
      expect(await db.collection('archived_records').countDocuments({ accountId: 'globex' })).toBeGreaterThan(0);
    } finally {
      await connection.close();
    }

    // Another run and a restore of everything: acme stays erased, globex is whole.
    const again = (await admin().post('/admin/archive/runs')).body as { runId: string };
    expect((await finished('/admin/archive/runs', again.runId)).status).toBe('succeeded');
    expect((await admin().post('/admin/archive/restore', {})).status).toBe(200);
    for (const webhookKey of acmeKeys) expect(await read(webhookKey)).toBe(404);
    for (const webhookKey of [...globexKeys, ...globexDuring]) expect(await read(webhookKey)).toBe(200);
    expect((await admin().get('/admin/ttl-policies/accounts/acme')).status).toBe(404);
  });
});
