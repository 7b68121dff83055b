import mongoose, { Connection } from 'mongoose';
import request from 'supertest';
import { ArchivedRecord } from '../src/archive/archive.schemas';
import { RecordMessage } from '../src/message/record-message.validation';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { RecordStore } from '../src/store/record-store';
import { ADMIN_KEY, eventually, startTestApp, TestApp, WEBHOOK_KEY_SECRET } from './support/app';
import { useHarness } from './support/harness';
import { journalEntries } from './support/journal';

const RECORDS = 10_000;
const digester = new WebhookKeyDigester(WEBHOOK_KEY_SECRET);

describe(`archive to MongoDB (${process.env.MONGODB_URI ? 'MongoDB at MONGODB_URI' : 'the wire server'})`, () => {
  const harness = useHarness({ mongo: true });
  let archive: Connection;
  let first: TestApp;
  let second: TestApp;
  const plaintextKeys: string[] = [];

  const admin = (app: TestApp) => ({
    post: (path: string, body: object = {}) =>
      request(app.url).post(`/admin/archive${path}`).set('x-api-key', ADMIN_KEY).send(body),
    get: (path: string) => request(app.url).get(`/admin/archive${path}`).set('x-api-key', ADMIN_KEY),
  });
  const records = () => archive.collection<ArchivedRecord>('archived_records');
  const finished = (app: TestApp, runId: string) =>
    eventually(
      async () => {
        const run = (await admin(app).get(`/runs/${runId}`)).body;
        return run.status === 'running' ? undefined : run;
      },
      120_000,
      `archive run ${runId} to finish`,
    );
  const runToEnd = async (app: TestApp) => {
    const started = await admin(app).post('/runs');
    expect(started.status).toBe(202);
    return finished(app, started.body.runId);
  };
  const write = (app: TestApp, message: RecordMessage, datumId: string, ttlSeconds: number | null = 3600) =>
    app.app.get(RecordStore).write(message, { datumId, ttlSeconds, now: Date.now() });

  beforeAll(async () => {
    // The schedule is far away: runs in this suite are the ones the tests start.
    const manualRuns = { ARCHIVE_CRON: '0 0 1 1 *', ARCHIVE_RETENTION_DAYS: '0' };
    first = await harness().startApp(manualRuns);
    second = await harness().startApp(manualRuns);
    archive = await mongoose.createConnection(harness().mongo.uri).asPromise();
    harness().defer(() => archive.close());

    const store = first.app.get(RecordStore);
    const now = Date.now();
    for (let start = 0; start < RECORDS; start += 500) {
      await Promise.all(
        Array.from({ length: 500 }, (_, offset) => {
          const n = start + offset;
          const keys = Array.from({ length: 1 + (n % 3) }, (_, index) => `archive-key-${n}-${index}`);
          plaintextKeys.push(...keys);
          return store.write(
            {
              op: 'set',
              accountId: 'acme',
              flowId: `flow-${n % 7}`,
              webhookKeys: keys,
              dataJson: JSON.stringify({ n, text: 'x'.repeat(200) }),
              version: n,
            },
            { datumId: `datum-${n}`, ttlSeconds: 3600, now },
          );
        }),
      );
    }
    await request(first.url)
      .put('/admin/ttl-policies/accounts/acme')
      .set('x-api-key', ADMIN_KEY)
      .send({ ttlSeconds: 7200 });
    await request(first.url)
      .put('/admin/ttl-policies/accounts/acme/flows/flow-1')
      .set('x-api-key', ADMIN_KEY)
      .send({ ttlSeconds: null });
  });

  it(`archives ${RECORDS} records with their fields and key digests, and no webhook key in clear`, async () => {
    const run = await runToEnd(first);
    expect(run).toMatchObject({
      status: 'succeeded',
      trigger: 'manual',
      policiesArchived: 2,
      finishedAt: expect.any(String),
    });
    expect(run.recordsArchived).toBeGreaterThanOrEqual(RECORDS);
    expect(await records().countDocuments()).toBe(RECORDS);

    const sample = await records().findOne({ _id: 'datum-4242' });
    const keys = ['archive-key-4242-0'];
    expect(sample).toMatchObject({
      accountId: 'acme',
      flowId: `flow-${4242 % 7}`,
      version: 4242,
      keys: keys.map((key) => digester.digest(key)),
      deleted: false,
      deletedAt: null,
    });
    expect(sample?.storedAt).toBeInstanceOf(Date);
    expect(sample?.expiresAt?.getTime()).toBe((sample?.storedAt.getTime() ?? 0) + 3600_000);
    const served = await request(first.url).get('/v1/data').set('x-webhook-key', keys[0]);
    expect(sample?.body).toBe(served.text);
    const shared = await records().findOne({ _id: 'datum-4243' });
    expect([...(shared?.keys ?? [])].sort()).toEqual(
      ['archive-key-4243-0', 'archive-key-4243-1'].map((key) => digester.digest(key)).sort(),
    );

    const policies = await archive.collection('archived_ttl_policies').find().toArray();
    expect(policies.map((policy) => [policy._id, policy.ttlSeconds]).sort()).toEqual([
      ['acme', 7200],
      ['acme/flow-1', null],
    ]);

    const everything = JSON.stringify(await records().find().toArray()) + JSON.stringify(policies);
    expect(everything).toContain(digester.digest('archive-key-9999-0'));
    for (const key of plaintextKeys.filter((_, index) => index % 97 === 0)) expect(everything).not.toContain(key);
  });

  it('changes and duplicates nothing when run again', async () => {
    const before = await records().find().sort({ _id: 1 }).toArray();
    const run = await runToEnd(second);
    expect(run).toMatchObject({ status: 'succeeded', recordsArchived: 0, policiesArchived: 0 });
    expect(await records().find().sort({ _id: 1 }).toArray()).toEqual(before);
  });

  it('shows when the archive last succeeded: set by the run, read from the run records at start-up', async () => {
    const lastSuccess = async (app: TestApp) => {
      const metrics = (await request(app.url).get('/metrics').expect(200)).text;
      const line = metrics
        .split('\n')
        .find((candidate) => candidate.startsWith('setgetapi_archive_last_success_timestamp_seconds '));
      return Number(line?.split(' ')[1]);
    };
    const runs = (await admin(first).get('/runs')).body as { status: string; finishedAt: string }[];
    const newest = runs.find((run) => run.status === 'succeeded');
    // The previous test's run, which `second` ran: `first` knows only its own, older one.
    expect(await lastSuccess(second)).toBe(Date.parse(newest?.finishedAt ?? '') / 1000);
    expect(await lastSuccess(first)).toBeLessThan(await lastSuccess(second));

    const restarted = await startTestApp(harness().env({ APP_ROLES: 'admin' }));
    const off = await startTestApp(harness().env({ APP_ROLES: 'admin', MONGODB_URI: '' }));
    try {
      const read = await eventually(
        async () => {
          const value = await lastSuccess(restarted);
          return value > 0 ? value : undefined;
        },
        10_000,
        'the last success read at start-up',
      );
      expect(read).toBe(await lastSuccess(second));
      expect(await lastSuccess(off)).toBe(0);
    } finally {
      await restarted.close();
      await off.close();
    }
  });

  it('archives data that expired, was overwritten or was deleted before the run, from the journal', async () => {
    const { inspect } = harness().redis;
    await write(
      first,
      { op: 'set', accountId: 'acme', flowId: 'brief', webhookKeys: ['brief-key-0001'], dataJson: '"gone soon"' },
      'datum-brief',
      1,
    );
    await write(
      first,
      {
        op: 'set',
        accountId: 'acme',
        flowId: 'over',
        webhookKeys: ['over-key-0001', 'over-key-0002'],
        dataJson: '"old"',
      },
      'datum-old',
    );
    await write(
      first,
      {
        op: 'set',
        accountId: 'acme',
        flowId: 'over',
        webhookKeys: ['over-key-0001', 'over-key-0002'],
        dataJson: '"new"',
      },
      'datum-new',
    );
    await write(
      first,
      { op: 'set', accountId: 'acme', flowId: 'del', webhookKeys: ['del-key-0001'], dataJson: '"doomed"' },
      'datum-doomed',
    );
    await write(
      first,
      { op: 'delete', accountId: 'acme', flowId: 'del', webhookKeys: ['del-key-0001'] },
      'delete-doomed',
    );
    await eventually(
      async () =>
        (await inspect.exists(new KeyLayout('sg:').record(digester.digest('brief-key-0001')))) === 0 ? true : undefined,
      5000,
      'expiry',
    );

    const run = await runToEnd(first);
    expect(run.status).toBe('succeeded');
    const brief = await records().findOne({ _id: 'datum-brief' });
    expect(brief?.expiresAt?.getTime()).toBeLessThan(Date.now());
    expect(JSON.parse(brief?.body ?? '{}').data).toBe('gone soon');
    const old = await records().findOne({ _id: 'datum-old' });
    expect(old?.replacedAt).toBeInstanceOf(Date);
    expect(Object.values(old?.endedKeys ?? {}).map((ending) => ending.reason)).toEqual(['replaced', 'replaced']);
    expect(await records().findOne({ _id: 'datum-doomed' })).toMatchObject({
      deleted: true,
      deletedAt: expect.any(Date),
    });
    expect(await journalEntries(inspect)).toEqual([]);
  });

  it('runs once when two instances are asked at the same moment', async () => {
    const before = (await admin(first).get('/runs')).body.length;
    const answers = await Promise.all([admin(first).post('/runs'), admin(second).post('/runs')]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([202, 409]);
    const conflict = answers.find((answer) => answer.status === 409);
    expect(conflict?.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    const started = answers.find((answer) => answer.status === 202);
    await finished(first, started?.body.runId);
    const runs = (await admin(second).get('/runs')).body;
    expect(runs).toHaveLength(before + 1);
    expect(runs[0].runId).toBe(started?.body.runId);
  });

  it('fails a run whose MongoDB connections drop, keeps its record readable, and the next run completes the copy', async () => {
    await records().deleteMany({ _id: { $in: ['datum-1', 'datum-2', 'datum-3'] } });
    const started = await admin(first).post('/runs');
    expect(started.status).toBe(202);
    harness().mongo.proxy.cut();
    try {
      const failed = await finished(first, started.body.runId);
      expect(failed).toMatchObject({ status: 'failed', finishedAt: expect.any(String) });
      expect(failed.error).toEqual(expect.any(String));
      expect(failed.error.length).toBeGreaterThan(0);
      expect((await admin(second).get(`/runs/${started.body.runId}`)).body.status).toBe('failed');
      expect((await request(first.url).get('/health/ready')).body.checks.mongodb.status).toBe('down');
      expect((await request(first.url).get('/health/ready')).status).toBe(200);
    } finally {
      harness().mongo.proxy.heal();
    }
    const next = await runToEnd(first);
    expect(next.status).toBe('succeeded');
    expect(await records().countDocuments({ _id: { $in: ['datum-1', 'datum-2', 'datum-3'] } })).toBe(3);
  });

  it('restores an emptied Redis: live data with its remaining TTL, not expired, deleted or newer data', async () => {
    const { inspect } = harness().redis;
    const layout = new KeyLayout('sg:');
    const expiry = await inspect.pexpiretime(layout.record(digester.digest('archive-key-10-0')));
    const servedBefore = (await request(first.url).get('/v1/data').set('x-webhook-key', 'archive-key-11-1')).text;
    await inspect.flushall();
    await write(
      first,
      {
        op: 'set',
        accountId: 'acme',
        flowId: 'flow-5',
        webhookKeys: ['archive-key-12-0'],
        dataJson: '"newer"',
        version: 999_999,
      },
      'datum-newer',
    );

    const answer = await admin(second).post('/restore', {});
    expect(answer.status).toBe(200);
    const live = plaintextKeys.length - 1;
    expect(answer.body).toEqual({
      restored: live + 2,
      skippedExpired: 1,
      skippedNewer: 1,
      skippedDeleted: 3,
      policiesRestored: 2,
    });
    expect(await inspect.pexpiretime(layout.record(digester.digest('archive-key-10-0')))).toBe(expiry);
    expect((await request(first.url).get('/v1/data').set('x-webhook-key', 'archive-key-11-1')).text).toBe(servedBefore);
    expect((await request(first.url).get('/v1/data').set('x-webhook-key', 'archive-key-12-0')).body.data).toBe('newer');
    expect((await request(first.url).get('/v1/data').set('x-webhook-key', 'over-key-0002')).body.data).toBe('new');
    expect((await request(first.url).get('/v1/data').set('x-webhook-key', 'brief-key-0001')).status).toBe(404);
    expect((await request(first.url).get('/v1/data').set('x-webhook-key', 'del-key-0001')).status).toBe(404);
    expect(
      (await request(first.url).get('/admin/ttl-policies/accounts/acme/flows/flow-1').set('x-api-key', ADMIN_KEY)).body
        .ttlSeconds,
    ).toBeNull();

    const again = await admin(first).post('/restore', { accountId: 'acme', flowId: 'flow-3' });
    expect(again.body).toMatchObject({ restored: 0, policiesRestored: 0 });
    expect(again.body.skippedNewer).toBeGreaterThan(0);
  });

  it('restores over live multi-key data any number of times, even concurrently, and every key reads as before', async () => {
    const keysOf = (n: number) => [0, 1, 2].map((index) => `live-restore-${n}-${index}`);
    for (let n = 0; n < 40; n++) {
      await write(
        first,
        {
          op: 'set',
          accountId: 'acme',
          flowId: 'live-restore',
          webhookKeys: keysOf(n),
          dataJson: JSON.stringify({ n }),
        },
        `live-datum-${n}`,
        null,
      );
    }
    expect((await runToEnd(first)).status).toBe('succeeded');
    const read = (key: string) => request(first.url).get('/v1/data').set('x-webhook-key', key);
    const before = new Map<string, string>();
    for (let n = 0; n < 40; n++) for (const key of keysOf(n)) before.set(key, (await read(key)).text);

    const filter = { accountId: 'acme', flowId: 'live-restore' };
    const answers = [
      ...(await Promise.all([admin(first).post('/restore', filter), admin(second).post('/restore', filter)])),
    ];
    answers.push(await admin(first).post('/restore', filter));
    for (const answer of answers) expect(answer.body).toMatchObject({ restored: 0, skippedNewer: 120 });

    for (const [key, text] of before) {
      const after = await read(key);
      expect({ key, status: after.status, text: after.text }).toEqual({ key, status: 200, text });
    }
  });

  it('starts one archive run per tick when two scheduler replicas share a schedule', async () => {
    // Every second: each tick both replicas fire within milliseconds of each other.
    const env = harness().env({ APP_ROLES: 'scheduler', ARCHIVE_CRON: '* * * * * *' });
    const replicas = [await startTestApp(env), await startTestApp(env)];
    const scheduled = async () =>
      ((await admin(first).get('/runs')).body as { trigger: string; startedAt: string }[]).filter(
        (run) => run.trigger === 'schedule',
      );
    try {
      await eventually(async () => ((await scheduled()).length >= 2 ? true : undefined), 60_000, 'two scheduled runs');
    } finally {
      for (const replica of replicas) await replica.close();
    }
    const starts = (await scheduled()).map((run) => Date.parse(run.startedAt)).sort((a, b) => a - b);
    const gaps = starts.slice(1).map((start, index) => start - starts[index]);
    // Two runs of one tick would start within milliseconds; runs of different ticks are a second or more apart.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
  });

  it('shows the journal as degraded, still ready, once its bound has dropped entries, until a run drains it', async () => {
    expect((await request(first.url).get('/health/ready')).body.checks.journal).toEqual({ status: 'up' });
    await harness().redis.inspect.set(new KeyLayout('sg:').journalShard(7).dropped, '3');
    const ready = await request(first.url).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.journal).toMatchObject({ status: 'degraded', droppedEntries: 3 });
    expect((await runToEnd(first)).status).toBe('succeeded');
    expect((await request(first.url).get('/health/ready')).body.checks.journal).toEqual({ status: 'up' });
  });

  it('marks a policy deleted from Redis as removed at the next run, and only that one', async () => {
    const policyPath = '/admin/ttl-policies/accounts/policy-churn/flows/short';
    const put = await request(first.url).put(policyPath).set('x-api-key', ADMIN_KEY).send({ ttlSeconds: 60 });
    expect(put.status).toBe(200);
    await runToEnd(first);
    const archived = () => archive.collection('archived_ttl_policies').findOne({ _id: 'policy-churn/short' as never });
    expect(await archived()).toMatchObject({ removedAt: null, ttlSeconds: 60 });

    expect((await request(first.url).delete(policyPath).set('x-api-key', ADMIN_KEY)).status).toBe(204);
    await runToEnd(first);
    expect((await archived())?.removedAt).toBeInstanceOf(Date);
    // Policies the run did see stay as they were.
    expect(
      await archive.collection('archived_ttl_policies').countDocuments({ _id: 'acme' as never, removedAt: null }),
    ).toBe(1);
    const restored = await admin(first).post('/restore', { accountId: 'policy-churn' });
    expect(restored.body).toMatchObject({ policiesRestored: 0 });
  });

  it('restores what each key held last in Redis: after a replay over a later write or a delete, and whatever the workers clocks said', async () => {
    const { inspect } = harness().redis;
    const app = (service: TestApp) => service.app.get(RecordStore);
    const layout = new KeyLayout('sg:');
    const [replaced, deleted, raced] = ['replayed-over-key', 'replayed-after-delete-key', 'raced-key'];
    const set = (key: string, flowId: string, data: string): RecordMessage => ({
      op: 'set',
      accountId: 'replayer',
      flowId,
      webhookKeys: [key],
      dataJson: JSON.stringify(data),
    });
    // Flow a writes, flow b overwrites, then a's message is delivered again (its SQS delete was lost): Redis holds
    // a's datum again. The archive learns that b ended it, and that the replay ended b's.
    await write(first, set(replaced, 'a', 'one'), 'replayed-a', null);
    await write(first, set(replaced, 'b', 'two'), 'replayed-b', null);
    await write(first, set(replaced, 'a', 'one'), 'replayed-a', null);
    // Written, deleted without a version (the datum ends as a whole), then written again by its replay.
    await write(first, set(deleted, 'a', 'three'), 'replayed-c', null);
    await write(first, { op: 'delete', accountId: 'replayer', flowId: 'a', webhookKeys: [deleted] }, 'replayed-delete');
    await write(first, set(deleted, 'a', 'three'), 'replayed-c', null);
    // Two workers whose clocks disagree: the one applied last in Redis (flow a) holds the key, though its clock
    // said it was earlier. The archive orders the key's writes as Redis applied them, not by the workers' clocks.
    const clockAhead = Date.now() + 5_000;
    await app(first).write(set(raced, 'b', 'ahead'), { datumId: 'raced-b', ttlSeconds: null, now: clockAhead });
    await app(first).write(set(raced, 'a', 'behind'), { datumId: 'raced-a', ttlSeconds: null, now: Date.now() });
    expect((await runToEnd(first)).status).toBe('succeeded');

    // The keys lost from Redis: a restore writes back what they held.
    await inspect.del(...[replaced, deleted, raced].map((key) => layout.record(digester.digest(key))));
    const answer = await admin(second).post('/restore', { accountId: 'replayer' });
    expect(answer.body).toMatchObject({ restored: 3 });
    for (const [key, data] of [
      [replaced, 'one'],
      [deleted, 'three'],
      [raced, 'behind'],
    ]) {
      const read = await request(first.url).get('/v1/data').set('x-webhook-key', key);
      expect({ key, status: read.status, data: read.body.data }).toEqual({ key, status: 200, data });
    }
  });

  it('answers 503 on every archive route when MONGODB_URI is not set', async () => {
    // An empty MONGODB_URI is an unset one.
    const off = await startTestApp(harness().env({ APP_ROLES: 'admin,scheduler', MONGODB_URI: '' }));
    try {
      for (const answer of [
        await admin(off).post('/runs'),
        await admin(off).get('/runs'),
        await admin(off).get('/runs/0b6f3f0e-5a49-4a59-9a57-2f7c1e0d8c11'),
        await admin(off).post('/restore'),
      ]) {
        expect(answer.status).toBe(503);
        expect(answer.body).toMatchObject({ statusCode: 503, message: 'The archive is off: MONGODB_URI is not set' });
      }
      // Ready once its Redis connection is up (moments after start on a loaded machine), with no MongoDB check.
      const ready = await eventually(
        async () => {
          const answer = await request(off.url).get('/health/ready');
          return answer.status === 200 ? answer : undefined;
        },
        10_000,
        'readiness',
      );
      // The admin role also uses SQS now (the dead-letter queue, redrive).
      expect(Object.keys(ready.body.checks).sort()).toEqual(['redis', 'sqs']);
    } finally {
      await off.close();
    }
  });
});
