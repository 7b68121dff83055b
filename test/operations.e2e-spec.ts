import { randomUUID } from 'node:crypto';
import { ModulesContainer } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import request from 'supertest';
import { ARCHIVE_JOB } from '../src/archive/archive.scheduler';
import { RECONCILE_JOB } from '../src/reconcile/reconcile.scheduler';
import { ACME, eventually, TestApp } from './support/app';
import { useHarness } from './support/harness';
import { createQueuePair, queueDepth, sendRaw } from './support/sqs';

/** Every route a process documents in Swagger, as "METHOD /path". */
async function documentedRoutes(url: string): Promise<string[]> {
  const document = (await request(url).get('/docs-json').expect(200)).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(document.paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

function metricValue(metrics: string, series: string): number {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('operating the service: roles, Swagger per role, metrics and logs', () => {
  const harness = useHarness();
  const start = (overrides: Record<string, string>) => harness().startApp(overrides);

  it('serves and documents only the routes of its roles', async () => {
    const common = ['GET /health/live', 'GET /health/ready', 'GET /metrics'];
    const gateway = await start({ APP_ROLES: 'gateway' });
    expect(await documentedRoutes(gateway.url)).toEqual(
      [...common, 'POST /v1/records', 'GET /v1/records/{messageId}'].sort(),
    );
    await request(gateway.url).get('/v1/data').set('x-webhook-key', 'wh-some-key-01').expect(404);

    const query = await start({ APP_ROLES: 'query' });
    expect(await documentedRoutes(query.url)).toEqual([...common, 'GET /v1/data', 'POST /v1/data/batch-get'].sort());
    await request(query.url).post('/v1/records').set('x-api-key', ACME.apiKey).send({}).expect(404);

    const worker = await start({ APP_ROLES: 'worker' });
    expect(await documentedRoutes(worker.url)).toEqual(common);

    const admin = await start({ APP_ROLES: 'admin' });
    const adminRoutes = await documentedRoutes(admin.url);
    expect(adminRoutes.filter((route) => !common.includes(route)).every((route) => / \/admin\//.test(route))).toBe(
      true,
    );
    expect(adminRoutes).toEqual(
      expect.arrayContaining(['GET /admin/archive/runs', 'PUT /admin/ttl-policies/accounts/{accountId}']),
    );
  });

  it('polls SQS only in a process with the worker role', async () => {
    const { sqs, startApp } = harness();
    const ownQueues = await createQueuePair(sqs);
    const notWorker = await startApp({ APP_ROLES: 'gateway,query,admin,scheduler' }, ownQueues);
    const key = `wh-${randomUUID()}`;
    await sendRaw(
      sqs,
      ownQueues.queueUrl,
      JSON.stringify({ accountId: 'acme', flowId: 'roles', webhookKeys: [key], data: 1 }),
      'acme:roles',
    );
    // Two of the worker's 1 s long polls would have taken it; the message must still be waiting.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await queueDepth(sqs, ownQueues.queueUrl)).toBe(1);
    await request(notWorker.url).get('/v1/data').set('x-webhook-key', key).expect(404);

    await startApp({ APP_ROLES: 'worker' }, ownQueues);
    await eventually(async () =>
      (await request(notWorker.url).get('/v1/data').set('x-webhook-key', key)).status === 200 ? true : undefined,
    );
  });

  it('schedules the archive only in a process with the scheduler role', async () => {
    // MongoDB is never contacted here: the connection is lazy and no run starts.
    const archive = { MONGODB_URI: 'mongodb://127.0.0.1:9/unused', ARCHIVE_CRON: '0 3 * * *' };
    const scheduler = await start({ APP_ROLES: 'scheduler', ...archive });
    expect([...scheduler.app.get(SchedulerRegistry).getCronJobs().keys()].sort()).toEqual([ARCHIVE_JOB, RECONCILE_JOB]);
    const admin = await start({ APP_ROLES: 'admin', ...archive });
    // app.get() of a missing provider would end the process (abortOnError): look through the modules instead.
    const providers = (app: TestApp) =>
      [...app.app.get(ModulesContainer).values()].flatMap((module) => [...module.providers.keys()]);
    expect(providers(scheduler)).toContain(SchedulerRegistry);
    expect(providers(admin)).not.toContain(SchedulerRegistry);
  });

  it('exposes ingest outcomes, ingest and query latency, queue-to-store lag and Node metrics', async () => {
    const app = await harness().startApp({ APP_ROLES: 'all' }, await createQueuePair(harness().sqs));
    const key = `wh-${randomUUID()}`;
    await request(app.url)
      .post('/v1/records')
      .set('x-api-key', ACME.apiKey)
      .send({ accountId: 'acme', flowId: 'metrics', webhookKeys: [key], data: { n: 1 } })
      .expect(202);
    const first = await eventually(async () => {
      const answer = await request(app.url).get('/v1/data').set('x-webhook-key', key);
      return answer.status === 200 ? answer : undefined;
    });
    await request(app.url)
      .get('/v1/data')
      .set('x-webhook-key', key)
      .set('if-none-match', String(first.headers.etag))
      .expect(304);
    await request(app.url).get('/v1/data').set('x-webhook-key', `wh-${randomUUID()}`).expect(404);
    await request(app.url)
      .post('/v1/data/batch-get')
      .send({ webhookKeys: [key] })
      .expect(200);

    const metrics = (await request(app.url).get('/metrics').expect(200)).text;
    expect(metricValue(metrics, 'setgetapi_ingest_messages_total{outcome="stored",reason=""}')).toBeGreaterThanOrEqual(
      1,
    );
    expect(metricValue(metrics, 'setgetapi_ingest_apply_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(metricValue(metrics, 'setgetapi_ingest_lag_seconds_count')).toBeGreaterThanOrEqual(1);
    for (const status of ['200', '304', '404']) {
      expect(
        metricValue(metrics, `setgetapi_query_duration_seconds_count{route="/v1/data",status="${status}"}`),
      ).toBeGreaterThanOrEqual(1);
    }
    expect(
      metricValue(metrics, 'setgetapi_query_duration_seconds_count{route="/v1/data/batch-get",status="200"}'),
    ).toBe(1);
    expect(metrics).toContain('# TYPE setgetapi_archive_runs_total counter');
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('writes JSON log lines that carry the request id and never a webhook key or an API key', async () => {
    const service = await harness().spawnService({ LOG_LEVEL: 'debug' }, await createQueuePair(harness().sqs));
    await eventually(async () => ((await request(service.url).get('/health/ready')).status === 200 ? true : undefined));
    const webhookKey = `wh-secret-${randomUUID()}`;
    const wrongApiKey = `not-a-key-${randomUUID()}`;
    await request(service.url)
      .get('/v1/data')
      .set('x-webhook-key', webhookKey)
      .set('x-request-id', 'trace-read-1')
      .expect(404);
    await request(service.url)
      .post('/v1/records')
      .set('x-api-key', wrongApiKey)
      .set('x-request-id', 'trace-auth-1')
      .send({})
      .expect(401);
    await request(service.url)
      .post('/v1/records')
      .set('x-api-key', ACME.apiKey)
      .set('x-request-id', 'trace-bad-1')
      .send({ accountId: 'acme', flowId: 'logs', webhookKeys: [webhookKey], data: null, version: -1 })
      .expect(400);

    const lines = await eventually(async () => {
      const parsed = service
        .output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { req?: { id?: string } });
      return parsed.some((line) => line.req?.id === 'trace-bad-1') ? parsed : undefined;
    });
    for (const id of ['trace-read-1', 'trace-auth-1', 'trace-bad-1']) {
      expect(lines.some((line) => line.req?.id === id)).toBe(true);
    }
    const everything = service.output();
    expect(everything).not.toContain(webhookKey);
    expect(everything).not.toContain(wrongApiKey);
    expect(everything).not.toContain(ACME.apiKey);
  });
});
