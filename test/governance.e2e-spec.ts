import mongoose from 'mongoose';
import request from 'supertest';
import { apiKeyFingerprint } from '../src/config/app-config';
import { ACME, eventually, startTestApp, TestApp, WEBHOOK_KEY_SECRET } from './support/app';
import { useHarness } from './support/harness';
import { sendRaw } from './support/sqs';
import { TcpProxy } from './support/tcp-proxy';

const NAMED_ADMIN_KEY = 'governance-admin-key-alice-0001';
const BARE_ADMIN_KEY = 'governance-admin-key-bare-00002';
const NAMED_PRODUCER_KEY = 'governance-producer-key-acme-01';

interface AuditItem {
  at: string;
  actor: string;
  action: string;
  target: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

interface AuditPage {
  items: AuditItem[];
  nextCursor: string | null;
}

describe('audit of admin changes', () => {
  const harness = useHarness({
    mongo: true,
    env: {
      ADMIN_API_KEYS: `ops.alice=${NAMED_ADMIN_KEY},${BARE_ADMIN_KEY}`,
      PRODUCER_API_KEYS: `acme-ingest=${NAMED_PRODUCER_KEY}:acme`,
      ARCHIVE_CRON: '0 0 1 1 *',
    },
    apps: 1,
  });
  const app = () => harness().apps[0];
  beforeAll(() =>
    eventually(async () => ((await request(app().url).get('/health/ready')).status === 200 ? true : undefined)),
  );
  const admin = (key = NAMED_ADMIN_KEY) => ({
    put: (path: string, body: object) => request(app().url).put(path).set('x-api-key', key).send(body),
    post: (path: string, body?: object) => request(app().url).post(path).set('x-api-key', key).send(body),
    delete: (path: string) => request(app().url).delete(path).set('x-api-key', key),
    get: (path: string) => request(app().url).get(path).set('x-api-key', key),
  });
  const everyEntry = async (limit: number): Promise<AuditItem[]> => {
    const items: AuditItem[] = [];
    let cursor: string | null = null;
    do {
      const answer = await admin().get(`/admin/audit?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(answer.status).toBe(200);
      const page = answer.body as AuditPage;
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  };

  /** Every admin route that changes something, and a call of it; GET routes change nothing and are not audited. */
  const changes: Array<{ route: string; action: string; call: () => PromiseLike<request.Response>; actor: string }> = [
    {
      route: 'post /admin/rekey',
      action: 'rekey.start',
      actor: 'ops.alice',
      // Waited for: it runs an archive run, which the archive route below would otherwise find in progress (409).
      call: async () => {
        const answer = await admin().post('/admin/rekey');
        const { jobId } = answer.body as { jobId: string };
        await eventually(async () => {
          const job = await admin().get(`/admin/jobs/${jobId}`);
          return (job.body as { status: string }).status === 'succeeded' ? true : undefined;
        });
        return answer;
      },
    },
    {
      route: 'put /admin/ttl-policies/accounts/{accountId}',
      action: 'ttl-policy.put',
      actor: 'ops.alice',
      call: () => admin().put('/admin/ttl-policies/accounts/acme', { ttlSeconds: 3600 }),
    },
    {
      route: 'put /admin/ttl-policies/accounts/{accountId}/flows/{flowId}',
      action: 'ttl-policy.put',
      actor: apiKeyFingerprint(BARE_ADMIN_KEY),
      call: () => admin(BARE_ADMIN_KEY).put('/admin/ttl-policies/accounts/acme/flows/orders', { ttlSeconds: 60 }),
    },
    {
      route: 'delete /admin/ttl-policies/accounts/{accountId}/flows/{flowId}',
      action: 'ttl-policy.delete',
      actor: 'ops.alice',
      call: () => admin().delete('/admin/ttl-policies/accounts/acme/flows/orders'),
    },
    {
      route: 'delete /admin/ttl-policies/accounts/{accountId}',
      action: 'ttl-policy.delete',
      actor: 'ops.alice',
      call: () => admin().delete('/admin/ttl-policies/accounts/acme'),
    },
    {
      route: 'post /admin/archive/runs',
      action: 'archive-run.start',
      actor: 'ops.alice',
      call: () => admin().post('/admin/archive/runs'),
    },
    {
      route: 'post /admin/archive/restore',
      action: 'archive.restore',
      actor: 'ops.alice',
      call: () => admin().post('/admin/archive/restore', { accountId: 'acme' }),
    },
    {
      route: 'delete /admin/dead-letters/{messageId}',
      action: 'dead-letter.delete',
      actor: 'ops.alice',
      call: async () => admin().delete(`/admin/dead-letters/${await deadLetter()}`),
    },
    {
      route: 'delete /admin/accounts/{accountId}/data',
      action: 'account.erase',
      actor: 'ops.alice',
      call: () => admin().delete('/admin/accounts/nobody/data'),
    },
    {
      route: 'post /admin/dead-letters/redrive',
      action: 'dead-letter.redrive',
      actor: 'ops.alice',
      call: async () => admin().post('/admin/dead-letters/redrive', { messageIds: [await deadLetter()] }),
    },
  ];

  /** A message the worker dead-letters (not JSON), once it is in the dead-letter index. */
  async function deadLetter(): Promise<string> {
    const messageId = await sendRaw(harness().sqs, harness().queues.queueUrl, 'not json', 'acme:audit');
    await eventually(async () =>
      (await admin().get(`/admin/dead-letters/${messageId}`)).status === 200 ? true : undefined,
    );
    return messageId;
  }

  it('covers every admin route that changes something (the OpenAPI document lists them)', async () => {
    const document = (await request(app().url).get('/docs-json')).body as { paths: Record<string, object> };
    const changing = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => path.startsWith('/admin/') && ['put', 'post', 'patch', 'delete'].includes(method))
        .map((method) => `${method} ${path}`),
    );
    expect(changing.sort()).toEqual(changes.map(({ route }) => route).sort());
  });

  it('records each change once, newest first, by key id, with the state before and after', async () => {
    const before = await everyEntry(100);
    for (const change of changes) {
      const answer = await change.call();
      expect(answer.status).toBeLessThan(300);
      if (change.action === 'archive-run.start') {
        const runId = (answer.body as { runId: string }).runId;
        await eventually(async () => {
          const run = await admin().get(`/admin/archive/runs/${runId}`);
          return (run.body as { status: string }).status === 'running' ? undefined : true;
        });
      }
    }
    // A change that fails changes nothing, and is not recorded.
    expect((await admin().delete('/admin/ttl-policies/accounts/acme')).status).toBe(404);

    const after = await everyEntry(100);
    expect(after.length).toBe(before.length + changes.length);
    const recorded = after.slice(0, changes.length);
    expect(recorded.map(({ action, actor }) => ({ action, actor }))).toEqual(
      [...changes].reverse().map(({ action, actor }) => ({ action, actor })),
    );
    const [redrive, erase, deadLetterDelete, restore, run, accountDelete, flowDelete, flowPut, accountPut] = recorded;
    expect(redrive).toMatchObject({ after: { jobId: expect.any(String), selected: 1 } });
    expect(erase).toMatchObject({ target: '/admin/accounts/nobody/data', after: { jobId: expect.any(String) } });
    expect(deadLetterDelete).toMatchObject({
      before: { errorCode: 'INVALID_JSON', accountId: 'acme', flowId: 'audit' },
    });
    expect(JSON.stringify(deadLetterDelete)).not.toContain('not json');
    expect(accountPut).toMatchObject({
      target: '/admin/ttl-policies/accounts/acme',
      after: { accountId: 'acme', flowId: null, ttlSeconds: 3600 },
    });
    expect(accountPut.before).toBeUndefined();
    expect(flowPut.after).toMatchObject({ flowId: 'orders', ttlSeconds: 60 });
    expect(flowDelete).toMatchObject({ before: { flowId: 'orders', ttlSeconds: 60 } });
    expect(flowDelete.after).toBeUndefined();
    expect(accountDelete).toMatchObject({ before: { accountId: 'acme', ttlSeconds: 3600 } });
    expect(run.after).toEqual({ runId: expect.any(String) });
    expect(restore).toMatchObject({
      target: 'archive restore of accountId=acme flowId=*',
      after: { restored: expect.any(Number) },
    });
    for (const entry of recorded) expect(Math.abs(Date.now() - Date.parse(entry.at))).toBeLessThan(60_000);

    // The run archived every entry recorded before it started, once.
    const connection = await mongoose.createConnection(harness().mongo.uri).asPromise();
    try {
      const archived = await connection.collection('archived_audit').find({}).toArray();
      const ttlEntries = recorded.filter(({ action }) => action.startsWith('ttl-policy.'));
      for (const entry of ttlEntries) {
        expect(archived).toContainEqual({ _id: expect.any(String), ...entry, at: new Date(entry.at) });
      }
      expect(new Set(archived.map(({ _id }) => String(_id))).size).toBe(archived.length);
    } finally {
      await connection.close();
    }
  });

  it('pages newest first without skipping or repeating while entries are added', async () => {
    const expected = await everyEntry(100);
    const seen: AuditItem[] = [];
    let cursor: string | null = null;
    let added = 0;
    do {
      const page = (await admin().get(`/admin/audit?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`))
        .body as AuditPage;
      seen.push(...page.items);
      cursor = page.nextCursor;
      await admin().put('/admin/ttl-policies/accounts/paging', { ttlSeconds: 100 + added++ });
    } while (cursor !== null);
    expect(seen).toEqual(expected);
    expect((await admin().get('/admin/audit?limit=0')).status).toBe(400);
    expect((await admin().get('/admin/audit?cursor=not-a-cursor')).status).toBe(400);
  });

  it('holds no API key and no secret, and answers admins only', async () => {
    const audit = JSON.stringify(await everyEntry(500));
    for (const secret of [NAMED_ADMIN_KEY, BARE_ADMIN_KEY, NAMED_PRODUCER_KEY, WEBHOOK_KEY_SECRET]) {
      expect(audit).not.toContain(secret);
    }
    expect((await request(app().url).get('/admin/audit')).status).toBe(401);
    expect((await request(app().url).get('/admin/audit').set('x-api-key', NAMED_PRODUCER_KEY)).status).toBe(403);
  });
});

/**
 * Unauthenticated answers, and every error answer, must not show where the dependencies are or what their drivers
 * said. Each dependency sits behind a TCP proxy the test cuts, so every one of them fails for real.
 */
describe('nothing for strangers while Redis, SQS and MongoDB are down', () => {
  const harness = useHarness({ mongo: true });
  let service: TestApp;
  let redisProxy: TcpProxy;
  let sqsProxy: TcpProxy;
  const revealing: string[] = [];

  beforeAll(async () => {
    const { redis, queues, mongo } = harness();
    const redisUrl = new URL(redis.env.REDIS_URL);
    const sqsUrl = new URL(queues.endpoint);
    redisProxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port));
    sqsProxy = await TcpProxy.start(sqsUrl.hostname, Number(sqsUrl.port));
    harness().defer(() => Promise.all([redisProxy.stop(), sqsProxy.stop()]));
    const viaProxy = (url: string) => url.replace(sqsUrl.host, `127.0.0.1:${sqsProxy.port}`);
    service = await startTestApp(
      harness().env({
        REDIS_URL: `redis://127.0.0.1:${redisProxy.port}`,
        SQS_ENDPOINT: viaProxy(queues.endpoint),
        SQS_QUEUE_URL: viaProxy(queues.queueUrl),
        SQS_DLQ_URL: viaProxy(queues.dlqUrl),
        LOG_LEVEL: 'fatal',
      }),
    );
    harness().defer(() => service.close());
    await eventually(async () => ((await request(service.url).get('/health/ready')).status === 200 ? true : undefined));
    const mongoUrl = new URL(mongo.uri);
    revealing.push(
      ...[redisProxy.port, sqsProxy.port, redisUrl.port, sqsUrl.port, mongoUrl.port].map(String),
      '127.0.0.1',
      'localhost',
      'redis://',
      'mongodb://',
      'http://',
      WEBHOOK_KEY_SECRET,
      ACME.apiKey,
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'MongoServerSelectionError',
      'MongoNetworkError',
      'MongoNetworkTimeoutError',
      'MongooseServerSelectionError',
      'MongoServerError',
      'Server selection',
      'Connection is closed',
      'Stream isn',
      'socket',
      'connect ',
      'getaddrinfo',
    );
    redisProxy.cut();
    sqsProxy.cut();
    mongo.proxy.cut();
  });

  /** The answer as a stranger sees it: status, headers (but the date and the request id) and body. */
  const scan = (answer: request.Response) => {
    const headers = Object.entries(answer.headers).filter(([name]) => !['date', 'x-request-id'].includes(name));
    const shown = `${answer.status} ${JSON.stringify(headers)} ${answer.text}`;
    for (const word of revealing) expect(shown).not.toContain(word);
  };

  it('reports every dependency down in /health/ready without hosts, ports or driver messages', async () => {
    const ready = await eventually(
      async () => {
        const answer = await request(service.url).get('/health/ready');
        const checks = (answer.body as { checks?: Record<string, { status: string }> }).checks ?? {};
        return ['redis', 'sqs', 'mongodb'].every((name) => checks[name]?.status === 'down') ? answer : undefined;
      },
      10_000,
      'every dependency down',
    );
    expect(ready.status).toBe(503);
    scan(ready);
    scan(await request(service.url).get('/health/live'));
    scan(await request(service.url).get('/metrics'));
  });

  it('answers every route with an error body that names no host, port, credential or driver message', async () => {
    const answers = await Promise.all([
      request(service.url).get('/v1/data').set('x-webhook-key', 'wh-strangers-0001'),
      request(service.url)
        .post('/v1/data/batch-get')
        .send({ webhookKeys: ['wh-strangers-0001'] }),
      request(service.url)
        .post('/v1/records')
        .set('x-api-key', ACME.apiKey)
        .send({ accountId: 'acme', flowId: 'f', webhookKeys: ['wh-strangers-0001'], data: 1 }),
      request(service.url).post('/v1/records').send({}),
      request(service.url).get('/admin/audit'),
      request(service.url).get('/admin/ttl-policies/accounts/acme'),
      request(service.url).get('/no/such/route'),
    ]);
    expect(answers.map(({ status }) => status)).toEqual([503, 503, 503, 401, 401, 401, 404]);
    for (const answer of answers) scan(answer);
  });
});
