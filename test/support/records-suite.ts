import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { KeyLayout, WebhookKeyDigester } from '../../src/store/key-layout';
import { ACME, ADMIN_KEY, eventually, GLOBEX, startTestApp, TestApp, WEBHOOK_KEY_SECRET } from './app';
import { useHarness } from './harness';
import { RedisTarget, StartRedisTarget } from './redis-target';
import { createQueuePair, drainMessages, queueDepth, receiveStats, sendRaw } from './sqs';

const DEFAULT_TTL_SECONDS = 3600;

/** What the shared records suite set up, for tests a caller adds for its own kind of Redis. */
export interface RecordsSuite {
  readonly redis: RedisTarget;
  readonly service: TestApp;
  /** The environment the service runs with, to start another instance beside it. */
  readonly serviceEnv: Record<string, string>;
  /** A fresh webhook key; the suite checks at the end that none of them reached Redis in clear. */
  newKey(label?: string): string;
  submit(apiKey: string, body: unknown, headers?: Record<string, string>): request.Test;
  /** Waits until the key answers 200 and `accept` likes the body. */
  readWhen(webhookKey: string, accept?: (body: Record<string, unknown>) => boolean): Promise<request.Response>;
}

/**
 * The core end-to-end suite (gateway → SQS FIFO → worker → Redis → query), run against whichever Redis
 * `startRedis` gives: test/records.e2e-spec.ts runs it on a standalone redis-server, test/redis-cluster.e2e-spec.ts
 * on a Redis Cluster. `moreTests` adds tests that only make sense for one of them.
 */
export function describeRecordsSuite(
  name: string,
  startRedis: StartRedisTarget,
  moreTests?: (suite: RecordsSuite) => void,
): void {
  describe(name, () => {
    const harness = useHarness({
      redis: startRedis,
      // The SQS that hands out several messages of a FIFO group per receive, as SQS does: ordering is judged.
      batchingFifo: true,
      env: { DEFAULT_TTL_SECONDS: String(DEFAULT_TTL_SECONDS) },
      apps: 1,
    });
    const service = () => harness().apps[0];
    const usedKeys: string[] = [];

    const newKey = (label = 'wh') => {
      const key = `${label}-${randomUUID()}`;
      usedKeys.push(key);
      return key;
    };
    const submit = (apiKey: string, body: unknown, headers: Record<string, string> = {}) =>
      request(service().url)
        .post('/v1/records')
        .set('x-api-key', apiKey)
        .set(headers)
        .send(body as object);
    const read = (webhookKey: string, headers: Record<string, string> = {}) =>
      request(service().url).get('/v1/data').set('x-webhook-key', webhookKey).set(headers);
    const admin = () => ({
      put: (path: string, body: unknown) =>
        request(service().url)
          .put(`/admin/ttl-policies${path}`)
          .set('x-api-key', ADMIN_KEY)
          .send(body as object),
      get: (path: string) => request(service().url).get(`/admin/ttl-policies${path}`).set('x-api-key', ADMIN_KEY),
      delete: (path: string) => request(service().url).delete(`/admin/ttl-policies${path}`).set('x-api-key', ADMIN_KEY),
    });
    /** Waits until the key answers 200 and `accept` likes the body. */
    const readWhen = (webhookKey: string, accept: (body: Record<string, unknown>) => boolean = () => true) =>
      eventually(
        async () => {
          const response = await read(webhookKey);
          return response.status === 200 && accept(response.body) ? response : undefined;
        },
        15_000,
        `data under ${webhookKey}`,
      );

    it('stores one message under each of its webhook keys and serves the same document for each', async () => {
      const keys = [newKey(), newKey(), newKey()];
      const data = { orderId: 'A-1001', lines: [1, 2, 3], note: 'ünïcödé ✓' };
      const accepted = await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'orders',
        webhookKeys: keys,
        data,
        version: 7,
      });
      expect(accepted.status).toBe(202);
      expect(accepted.body.messageId).toEqual(expect.any(String));
      expect(accepted.body.sequenceNumber).toEqual(expect.any(String));

      const responses = await Promise.all(keys.map((key) => readWhen(key)));
      for (const response of responses) {
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body).toEqual(responses[0].body);
        expect(response.headers.etag).toBe(responses[0].headers.etag);
      }
      const body = responses[0].body;
      expect(body).toEqual({
        accountId: 'acme',
        flowId: 'orders',
        data,
        version: 7,
        storedAt: expect.any(String),
        expiresAt: expect.any(String),
      });
      expect(Math.abs(Date.now() - Date.parse(body.storedAt))).toBeLessThan(60_000);
      expect(Date.parse(body.expiresAt) - Date.parse(body.storedAt)).toBe(DEFAULT_TTL_SECONDS * 1000);
    });

    it('resolves the TTL flow > account > default at write time and forgets the data when it ends', async () => {
      expect((await admin().put('/accounts/acme', { ttlSeconds: 3000 })).body).toMatchObject({
        accountId: 'acme',
        flowId: null,
        ttlSeconds: 3000,
      });
      expect((await admin().put('/accounts/acme/flows/short', { ttlSeconds: 2 })).status).toBe(200);
      const effective = (accountId: string, flowId: string) =>
        request(service().url)
          .get('/admin/ttl-policies/effective')
          .query({ accountId, flowId })
          .set('x-api-key', ADMIN_KEY)
          .then((response) => response.body);
      expect(await effective('acme', 'short')).toEqual({ ttlSeconds: 2, source: 'flow' });
      expect(await effective('acme', 'long')).toEqual({ ttlSeconds: 3000, source: 'account' });
      expect(await effective('globex', 'any')).toEqual({ ttlSeconds: DEFAULT_TTL_SECONDS, source: 'default' });
      const listed = await admin().get('?accountId=acme');
      expect(listed.body).toMatchObject({
        accountId: 'acme',
        account: { ttlSeconds: 3000 },
        flows: [{ flowId: 'short', ttlSeconds: 2 }],
      });

      const [short, long, byDefault] = [newKey(), newKey(), newKey()];
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'short', webhookKeys: [short], data: 'short-lived' });
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'long', webhookKeys: [long], data: 'long-lived' });
      await submit(GLOBEX.apiKey, { accountId: 'globex', flowId: 'any', webhookKeys: [byDefault], data: 'default' });
      const lifetime = (body: Record<string, unknown>) =>
        Date.parse(String(body.expiresAt)) - Date.parse(String(body.storedAt));
      const shortBody = (await readWhen(short)).body;
      expect(lifetime(shortBody)).toBe(2000);
      expect(lifetime((await readWhen(long)).body)).toBe(3000 * 1000);
      expect(lifetime((await readWhen(byDefault)).body)).toBe(DEFAULT_TTL_SECONDS * 1000);

      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, Date.parse(shortBody.expiresAt) - Date.now() + 100)),
      );
      expect((await read(short)).status).toBe(404);
      expect((await read(long)).status).toBe(200);

      expect((await admin().delete('/accounts/acme/flows/short')).status).toBe(204);
      expect((await admin().delete('/accounts/acme/flows/short')).status).toBe(404);
      expect((await admin().delete('/accounts/acme')).status).toBe(204);
      expect((await admin().get('/accounts/acme')).status).toBe(404);
    });

    it('keeps data written under a null TTL policy without expiry', async () => {
      const { redis } = harness();
      expect((await admin().put('/accounts/acme/flows/archive', { ttlSeconds: null })).body.ttlSeconds).toBeNull();
      const key = newKey();
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'archive', webhookKeys: [key], data: { keep: true } });
      const body = (await readWhen(key)).body;
      expect(body.expiresAt).toBeNull();
      const record = new KeyLayout('sg:').record(new WebhookKeyDigester(WEBHOOK_KEY_SECRET).digest(key));
      expect(await redis.inspect.pttl(record)).toBe(-1);
      await admin().delete('/accounts/acme/flows/archive');
    });

    it('answers 304 to If-None-Match with the current ETag, and 200 with a new ETag after a change', async () => {
      const key = newKey();
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'etag', webhookKeys: [key], data: { n: 1 } });
      const first = await readWhen(key);
      const etag = first.headers.etag;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

      const unchanged = await read(key, { 'if-none-match': etag });
      expect(unchanged.status).toBe(304);
      expect(unchanged.text ?? '').toBe('');
      expect(unchanged.headers.etag).toBe(etag);

      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'etag', webhookKeys: [key], data: { n: 2 } });
      const changed = await readWhen(key, (body) => (body.data as { n: number }).n === 2);
      expect(changed.headers.etag).not.toBe(etag);
      expect((await read(key, { 'if-none-match': etag })).status).toBe(200);
    });

    it('answers batch-get with every found key and the missing ones', async () => {
      const [a, b, missing] = [newKey(), newKey(), newKey()];
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'batch', webhookKeys: [a], data: 'a' });
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'batch', webhookKeys: [b], data: 'b' });
      const [readA, readB] = [await readWhen(a), await readWhen(b)];

      const response = await request(service().url)
        .post('/v1/data/batch-get')
        .send({ webhookKeys: [a, missing, b] });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        items: { [a]: readA.body, [b]: readB.body },
        etags: { [a]: readA.headers.etag, [b]: readB.headers.etag },
        missing: [missing],
      });

      const tooMany = Array.from({ length: 101 }, (_, index) => `key-${String(index).padStart(4, '0')}`);
      const refused = await request(service().url).post('/v1/data/batch-get').send({ webhookKeys: tooMany });
      expect(refused.status).toBe(400);
      expect(refused.body.details[0].field).toBe('webhookKeys');
    });

    it('does not apply a message whose version is older than the stored one, and applies an equal version', async () => {
      const key = newKey();
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'versions', webhookKeys: [key], data: 'v5', version: 5 });
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'versions', webhookKeys: [key], data: 'v3', version: 3 });
      await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'versions',
        webhookKeys: [key],
        data: 'v5 again',
        version: 5,
      });
      const final = await readWhen(key, (body) => body.data === 'v5 again');
      expect(final.body.version).toBe(5);
      const metrics = (await request(service().url).get('/metrics')).text;
      expect(metrics).toMatch(/setgetapi_ingest_messages_total\{outcome="stale",reason=""\} [1-9]/);
    });

    it('keeps a versioned delete: a late or redriven older set does not bring the data back', async () => {
      const [key, other] = [newKey(), newKey()];
      await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'tombstone',
        webhookKeys: [key, other],
        data: 'v5',
        version: 5,
      });
      await submit(ACME.apiKey, {
        op: 'delete',
        accountId: 'acme',
        flowId: 'tombstone',
        webhookKeys: [key, other],
        version: 6,
      });
      await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'tombstone',
        webhookKeys: [key],
        data: 'v5 late',
        version: 5,
      });
      await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'tombstone',
        webhookKeys: [key],
        data: 'v6 late',
        version: 6,
      });
      // A later message of the group, applied after the three above: once it is readable, they have been applied.
      await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'tombstone',
        webhookKeys: [other],
        data: 'v7',
        version: 7,
      });
      await readWhen(other, (body) => body.data === 'v7');
      expect((await request(service().url).get('/v1/data').set('x-webhook-key', key)).status).toBe(404);
    });

    it('refuses writes and deletes from another account on a live key, dead-lettering messages that change nothing', async () => {
      const { sqs, queues } = harness();
      const owned = newKey();
      const free = newKey();
      await submit(ACME.apiKey, { accountId: 'acme', flowId: 'owner', webhookKeys: [owned], data: 'acme data' });
      await readWhen(owned);

      const overwrite = await submit(GLOBEX.apiKey, {
        accountId: 'globex',
        flowId: 'intruder',
        webhookKeys: [owned],
        data: 'globex data',
      });
      const remove = await submit(GLOBEX.apiKey, {
        op: 'delete',
        accountId: 'globex',
        flowId: 'intruder',
        webhookKeys: [owned],
      });
      await submit(GLOBEX.apiKey, {
        accountId: 'globex',
        flowId: 'intruder',
        webhookKeys: [owned, free],
        data: 'partly mine',
      });

      expect((await readWhen(free)).body).toMatchObject({ accountId: 'globex', data: 'partly mine' });
      expect((await read(owned)).body).toMatchObject({ accountId: 'acme', data: 'acme data' });

      const dead = await drainMessages(sqs, queues.dlqUrl, 2);
      expect(dead.map((message) => message.MessageAttributes?.errorCode?.StringValue)).toEqual([
        'KEY_OWNED_BY_OTHER_ACCOUNT',
        'KEY_OWNED_BY_OTHER_ACCOUNT',
      ]);
      expect(dead.map((message) => message.MessageAttributes?.originalMessageId?.StringValue)).toEqual([
        overwrite.body.messageId,
        remove.body.messageId,
      ]);
      // Each dead letter alone in a group named after it, its ingest group kept as an attribute.
      expect(
        dead.every((message) => message.MessageAttributes?.originalGroupId?.StringValue === 'globex:intruder'),
      ).toBe(true);
      expect(
        dead.every(
          (message) => message.Attributes?.MessageGroupId === message.MessageAttributes?.originalMessageId?.StringValue,
        ),
      ).toBe(true);
      expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    });

    it('applies 40 messages of one group in queue order, ending with the last one, received ten at a time', async () => {
      const { sqs } = harness();
      // A queue of its own, filled through a gateway before a worker starts: the worker meets a backlog of the
      // group and receives it in batches of ten, which it must apply one after another.
      const backlog = await createQueuePair(sqs);
      const gateway = await startTestApp(harness().env({ APP_ROLES: 'gateway' }, backlog));
      const key = newKey();
      try {
        for (let n = 1; n <= 40; n++) {
          // Odd messages also write a key of their own, so their body is shared and stored first: applied at once
          // rather than in order, an odd message's write of `key` would land after the next even one's.
          const webhookKeys = n % 2 === 1 ? [key, newKey()] : [key];
          const accepted = await request(gateway.url)
            .post('/v1/records')
            .set('x-api-key', ACME.apiKey)
            .send({ accountId: 'acme', flowId: 'ordered', webhookKeys, data: { n } });
          expect(accepted.status).toBe(202);
        }
      } finally {
        await gateway.close();
      }
      const worker = await startTestApp(harness().env({ APP_ROLES: 'worker' }, backlog));
      try {
        await eventually(
          async () => ((await queueDepth(sqs, backlog.queueUrl)) === 0 ? true : undefined),
          30_000,
          'queue drained',
        );
      } finally {
        await worker.close();
      }
      expect((await read(key)).body.data).toEqual({ n: 40 });
      expect(await receiveStats(backlog.queueUrl)).toMatchObject({ largestGroupBatch: 10 });
    });

    it('moves a body that can never be applied to the dead-letter queue at once, unchanged and with its reason', async () => {
      const { sqs, queues } = harness();
      const invalid = JSON.stringify({
        accountId: 'acme',
        flowId: 'raw',
        webhookKeys: ['short'],
        data: 1,
        extra: true,
      });
      const invalidId = await sendRaw(sqs, queues.queueUrl, invalid, 'acme:raw');
      const notJsonId = await sendRaw(sqs, queues.queueUrl, 'this is not JSON', 'acme:raw');

      const dead = await drainMessages(sqs, queues.dlqUrl, 2);
      const byId = new Map(dead.map((message) => [message.MessageAttributes?.originalMessageId?.StringValue, message]));
      const invalidCopy = byId.get(invalidId);
      expect(invalidCopy?.Body).toBe(invalid);
      expect(invalidCopy?.Attributes?.MessageGroupId).toBe(invalidId);
      expect(invalidCopy?.MessageAttributes?.originalGroupId?.StringValue).toBe('acme:raw');
      expect(invalidCopy?.MessageAttributes?.errorCode?.StringValue).toBe('INVALID_MESSAGE');
      expect(invalidCopy?.MessageAttributes?.errorMessage?.StringValue).toContain('webhookKeys[0] must be 8 to 512');
      expect(invalidCopy?.MessageAttributes?.errorMessage?.StringValue).toContain('extra: property extra is not part');
      expect(byId.get(notJsonId)?.Body).toBe('this is not JSON');
      expect(byId.get(notJsonId)?.MessageAttributes?.errorCode?.StringValue).toBe('INVALID_JSON');
      await eventually(
        async () => ((await queueDepth(sqs, queues.queueUrl)) === 0 ? true : undefined),
        10_000,
        'ingest queue empty',
      );
    });

    it('answers authentication, validation, ownership and size errors as JSON, checking the key before the body', async () => {
      const valid = { accountId: 'acme', flowId: 'errors', webhookKeys: ['key-errors-0001'], data: 1 };
      const expectError = (response: request.Response, status: number) => {
        expect(response.status).toBe(status);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.body).toEqual(
          expect.objectContaining({ statusCode: status, error: expect.any(String), message: expect.any(String) }),
        );
      };
      expectError(await request(service().url).post('/v1/records').send(valid), 401);
      expectError(await submit('not-a-known-key-000000', valid), 401);
      expectError(
        await request(service().url).post('/v1/records').set('content-type', 'application/json').send('{not json'),
        401,
      );
      expectError(await submit(ADMIN_KEY, valid), 403);
      expectError(await submit(GLOBEX.apiKey, valid), 403);
      expectError(await submit(ACME.apiKey, '{not json', { 'content-type': 'application/json' }), 400);
      expectError(await submit(ACME.apiKey, 'plain text', { 'content-type': 'text/plain' }), 415);

      const invalid = await submit(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'bad flow',
        webhookKeys: [],
        data: null,
        x: 1,
      });
      expectError(invalid, 400);
      expect(invalid.body.details.map((detail: { field: string }) => detail.field).sort()).toEqual([
        'data',
        'flowId',
        'webhookKeys',
        'x',
      ]);
      const foreignAndInvalid = await submit(GLOBEX.apiKey, { ...valid, webhookKeys: [] });
      expectError(foreignAndInvalid, 400);

      const oversized = await submit(ACME.apiKey, { ...valid, data: 'x'.repeat(262_144) });
      expectError(oversized, 413);
      expectError(await submit(ACME.apiKey, valid, { 'idempotency-key': 'has space' }), 400);
      expectError(await read('short'), 400);
      expectError(await request(service().url).get('/v1/data'), 400);
      expectError(await read('wh-never-written-0001'), 404);
      expectError(await request(service().url).get('/no/such/route'), 404);
      expectError(await admin().put('/accounts/acme', { ttlSeconds: 0 }), 400);
      expectError(await request(service().url).get('/admin/ttl-policies?accountId=acme'), 401);

      const traced = await request(service().url).get('/v1/data').set('x-request-id', 'trace-0001');
      expect(traced.headers['x-request-id']).toBe('trace-0001');
      const untraced = await request(service().url).get('/v1/data').set('x-request-id', 'not a sane id');
      expect(untraced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('queues an identical body twice unless an Idempotency-Key makes the repeat a duplicate', async () => {
      const key = newKey();
      const body = { accountId: 'acme', flowId: 'idem', webhookKeys: [key], data: 'same' };
      const first = await submit(ACME.apiKey, body);
      const second = await submit(ACME.apiKey, body);
      expect(first.body.messageId).not.toBe(second.body.messageId);
      const keyed = await submit(ACME.apiKey, body, { 'idempotency-key': `idem-${key}` });
      const repeat = await submit(ACME.apiKey, body, { 'idempotency-key': `idem-${key}` });
      expect(repeat.status).toBe(202);
      expect(repeat.body.messageId).toBe(keyed.body.messageId);
    });

    it('documents every route in Swagger', async () => {
      expect((await request(service().url).get('/docs')).status).toBe(200);
      const document = (await request(service().url).get('/docs-json')).body;
      expect(Object.keys(document.paths).sort()).toEqual([
        '/admin/accounts/{accountId}/data',
        '/admin/archive/restore',
        '/admin/archive/runs',
        '/admin/archive/runs/{runId}',
        '/admin/audit',
        '/admin/dead-letters',
        '/admin/dead-letters/redrive',
        '/admin/dead-letters/{messageId}',
        '/admin/jobs',
        '/admin/jobs/{jobId}',
        '/admin/rekey',
        '/admin/ttl-policies',
        '/admin/ttl-policies/accounts/{accountId}',
        '/admin/ttl-policies/accounts/{accountId}/flows/{flowId}',
        '/admin/ttl-policies/effective',
        '/health/live',
        '/health/ready',
        '/metrics',
        '/v1/data',
        '/v1/data/batch-get',
        '/v1/records',
        '/v1/records/{messageId}',
      ]);
      expect(document.components.schemas.RecordMessageDto.required).toEqual(['accountId', 'flowId', 'webhookKeys']);
      expect(document.paths['/v1/records'].post.requestBody.content['application/json'].examples.set).toBeDefined();
    });

    // Before the last test, so that it checks the keys of the added tests too.
    moreTests?.({
      get redis() {
        return harness().redis;
      },
      get service() {
        return service();
      },
      get serviceEnv() {
        return harness().env();
      },
      newKey,
      submit,
      readWhen,
    });

    it('never stores a webhook key in clear anywhere in Redis', async () => {
      const { redis } = harness();
      const dump: string[] = [];
      for (const key of await redis.keys('*')) {
        dump.push(key);
        const type = await redis.inspect.type(key);
        if (type === 'string') dump.push((await redis.inspect.get(key)) ?? '');
        if (type === 'hash') dump.push(JSON.stringify(await redis.inspect.hgetall(key)));
      }
      const everything = dump.join('\n');
      expect(usedKeys.length).toBeGreaterThan(10);
      expect(everything).toContain('acme data');
      for (const key of usedKeys) expect(everything).not.toContain(key);
    });
  });
}
