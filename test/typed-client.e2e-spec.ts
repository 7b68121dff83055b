import { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { buildOpenApiDocument } from '../scripts/openapi';
import { ApiClient, apiClient, Schemas } from './support/api-client';
import { ACME, ADMIN_KEY, eventually, startTestApp, TestApp, testEnv } from './support/app';
import { RedisServer } from './support/redis-server';
import { createQueuePair, testSqsClient } from './support/sqs';

/**
 * The service through the client generated from its OpenAPI document (openapi-fetch on test/support/api-types.ts):
 * the document served at /docs-json is the one the types were generated from, and the main routes answer what it
 * says, with the shapes it says.
 */
describe('the typed client (openapi-fetch on the generated API types)', () => {
  let redis: RedisServer;
  let sqs: SQSClient;
  let service: TestApp;
  let producer: ApiClient;
  let admin: ApiClient;
  let anonymous: ApiClient;

  const newKey = () => `wh-typed-${randomUUID()}`;
  /** GET /v1/data as a consumer holding `webhookKey`, until it answers 200 with `accept`able data. */
  const readWhen = (webhookKey: string, accept: (data: Schemas['RecordDataDto']) => boolean = () => true) =>
    eventually(
      async () => {
        const answer = await apiClient(service.url, { 'x-webhook-key': webhookKey }).GET('/v1/data');
        return answer.response.status === 200 && answer.data !== undefined && accept(answer.data) ? answer : undefined;
      },
      15_000,
      `data under ${webhookKey}`,
    );

  beforeAll(async () => {
    redis = await RedisServer.start();
    sqs = testSqsClient();
    const queues = await createQueuePair(sqs);
    service = await startTestApp(testEnv(redis.url, queues, { DEFAULT_TTL_SECONDS: '3600' }));
    producer = apiClient(service.url, { 'x-api-key': ACME.apiKey });
    admin = apiClient(service.url, { 'x-api-key': ADMIN_KEY });
    anonymous = apiClient(service.url);
  });

  afterAll(async () => {
    await service?.close();
    sqs?.destroy();
    await redis?.destroy();
  });

  it('is generated from the document the service serves at /docs-json', async () => {
    const served = await (await fetch(`${service.url}/docs-json`)).json();
    expect(served).toEqual(await buildOpenApiDocument());
  });

  it('queues a message (POST /v1/records) and reads it back (GET /v1/data), with ETag and 304', async () => {
    const webhookKey = newKey();
    const data = { orderId: 'A-1001', lines: [1, 2, 3], note: 'ünïcödé ✓' };
    const accepted = await producer.POST('/v1/records', {
      body: { accountId: ACME.accountId, flowId: 'typed', webhookKeys: [webhookKey], data, version: 3 },
    });
    expect(accepted.response.status).toBe(202);
    expect(accepted.data?.messageId).toEqual(expect.any(String));

    const read = await readWhen(webhookKey);
    expect(read.data).toMatchObject({ accountId: ACME.accountId, flowId: 'typed', data, version: 3 });
    expect(Date.parse(read.data?.expiresAt ?? '')).toBeGreaterThan(Date.now());
    const etag = read.response.headers.get('etag');
    expect(etag).toEqual(expect.any(String));

    const consumer = apiClient(service.url, { 'x-webhook-key': webhookKey });
    const unchanged = await consumer.GET('/v1/data', { params: { header: { 'If-None-Match': etag ?? '' } } });
    expect(unchanged.response.status).toBe(304);
  });

  it('answers errors in the documented shape: 401 without a key, 400 with details, 404 for an unknown key', async () => {
    const unauthenticated = await anonymous.POST('/v1/records', {
      body: { accountId: ACME.accountId, flowId: 'typed', webhookKeys: [newKey()], data: 1 },
    });
    expect(unauthenticated.response.status).toBe(401);
    expect(unauthenticated.error).toMatchObject({ statusCode: 401, error: 'Unauthorized' });

    // A body the types would refuse, sent anyway: the service refuses it too, naming the field.
    const invalid = await producer.POST('/v1/records', {
      body: { accountId: ACME.accountId, flowId: 'typed', webhookKeys: [] },
    });
    expect(invalid.response.status).toBe(400);
    expect(invalid.error?.details?.map(({ field }) => field)).toContain('webhookKeys');

    const unknown = await apiClient(service.url, { 'x-webhook-key': newKey() }).GET('/v1/data');
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('deduplicates on Idempotency-Key and deletes (op "delete")', async () => {
    const webhookKey = newKey();
    const body: Schemas['RecordMessageDto'] = {
      accountId: ACME.accountId,
      flowId: 'typed-idem',
      webhookKeys: [webhookKey],
      data: 'once',
    };
    const idempotencyKey = `idem-${randomUUID()}`;
    const first = await producer.POST('/v1/records', {
      body,
      params: { header: { 'Idempotency-Key': idempotencyKey } },
    });
    const repeat = await producer.POST('/v1/records', {
      body,
      params: { header: { 'Idempotency-Key': idempotencyKey } },
    });
    expect(repeat.response.status).toBe(202);
    expect(repeat.data?.messageId).toBe(first.data?.messageId);
    await readWhen(webhookKey, (record) => record.data === 'once');

    const deleted = await producer.POST('/v1/records', {
      body: { op: 'delete', accountId: ACME.accountId, flowId: 'typed-idem', webhookKeys: [webhookKey] },
    });
    expect(deleted.response.status).toBe(202);
    await eventually(async () => {
      const answer = await apiClient(service.url, { 'x-webhook-key': webhookKey }).GET('/v1/data');
      return answer.response.status === 404 ? true : undefined;
    });
  });

  it('reads several keys at once (POST /v1/data/batch-get), naming the missing ones', async () => {
    const [first, second, missing] = [newKey(), newKey(), newKey()];
    await producer.POST('/v1/records', {
      body: { accountId: ACME.accountId, flowId: 'typed-batch', webhookKeys: [first, second], data: { n: 1 } },
    });
    await readWhen(second);
    const batch = await anonymous.POST('/v1/data/batch-get', { body: { webhookKeys: [first, second, missing] } });
    expect(batch.response.status).toBe(200);
    expect(Object.keys(batch.data?.items ?? {}).sort()).toEqual([first, second].sort());
    expect(batch.data?.items[first]).toMatchObject({
      accountId: ACME.accountId,
      flowId: 'typed-batch',
      data: { n: 1 },
    });
    expect(batch.data?.missing).toEqual([missing]);
    expect(Object.keys(batch.data?.etags ?? {}).sort()).toEqual([first, second].sort());
    expect(batch.data?.etags[first]).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('manages TTL policies (admin): account and flow, effective TTL, delete', async () => {
    const accountId = ACME.accountId;
    const flowId = `typed-ttl-${randomUUID().slice(0, 8)}`;
    const account = await admin.PUT('/admin/ttl-policies/accounts/{accountId}', {
      params: { path: { accountId } },
      body: { ttlSeconds: 600 },
    });
    expect(account.response.status).toBe(200);
    expect(account.data).toMatchObject({ accountId, flowId: null, ttlSeconds: 600 });

    const flow = await admin.PUT('/admin/ttl-policies/accounts/{accountId}/flows/{flowId}', {
      params: { path: { accountId, flowId } },
      body: { ttlSeconds: null },
    });
    expect(flow.data).toMatchObject({ accountId, flowId, ttlSeconds: null });

    const effective = await admin.GET('/admin/ttl-policies/effective', { params: { query: { accountId, flowId } } });
    expect(effective.data).toMatchObject({ source: 'flow', ttlSeconds: null });
    const listed = await admin.GET('/admin/ttl-policies', { params: { query: { accountId } } });
    expect(listed.data?.account?.ttlSeconds).toBe(600);
    expect(listed.data?.flows.map((policy) => policy.flowId)).toContain(flowId);

    const removed = await admin.DELETE('/admin/ttl-policies/accounts/{accountId}/flows/{flowId}', {
      params: { path: { accountId, flowId } },
    });
    expect(removed.response.status).toBe(204);
    const gone = await admin.GET('/admin/ttl-policies/accounts/{accountId}/flows/{flowId}', {
      params: { path: { accountId, flowId } },
    });
    expect(gone.response.status).toBe(404);
    expect(gone.error).toMatchObject({ statusCode: 404 });
    const fallsBack = await admin.GET('/admin/ttl-policies/effective', { params: { query: { accountId, flowId } } });
    expect(fallsBack.data).toMatchObject({ source: 'account', ttlSeconds: 600 });

    // Not an admin key: the producer's is refused (403), as the document says.
    const refused = await producer.GET('/admin/ttl-policies', { params: { query: { accountId } } });
    expect(refused.response.status).toBe(403);
    await admin.DELETE('/admin/ttl-policies/accounts/{accountId}', { params: { path: { accountId } } });
  });

  it('answers the open operations routes without credentials', async () => {
    const live = await anonymous.GET('/health/live');
    expect(live.response.status).toBe(200);
    const metrics = await anonymous.GET('/metrics', { parseAs: 'text' });
    expect(metrics.response.status).toBe(200);
    expect(metrics.data).toContain('# TYPE');
  });
});
