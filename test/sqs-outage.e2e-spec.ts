import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ACME, eventually, TestApp } from './support/app';
import { useHarness } from './support/harness';
import { queueDepth, sendRaw, sqsEndpoint } from './support/sqs';
import { TcpProxy } from './support/tcp-proxy';

/**
 * Connections the service may open towards SQS in QUIET_WINDOW_MS while SQS is unreachable. A worker backing off
 * (up to 10 s between receives, 3 attempts each) opens a handful; one retrying at once opens thousands.
 */
const MAX_ATTEMPTS_IN_QUIET_WINDOW = 40;
const QUIET_WINDOW_MS = 6_000;

describe('SQS unreachable: the gateway answers 503, readiness says so, the worker backs off and catches up', () => {
  const harness = useHarness();
  let proxy: TcpProxy;
  let service: TestApp;

  const submit = (key: string, data: unknown) =>
    request(service.url)
      .post('/v1/records')
      .set('x-api-key', ACME.apiKey)
      .send({ accountId: ACME.accountId, flowId: 'sqs-outage', webhookKeys: [key], data });
  const readWhenStored = (key: string, timeoutMs: number) =>
    eventually(
      async () => {
        const response = await request(service.url).get('/v1/data').set('x-webhook-key', key);
        return response.status === 200 ? response : undefined;
      },
      timeoutMs,
      `data under ${key}`,
    );

  beforeAll(async () => {
    const fauxqs = new URL(sqsEndpoint());
    proxy = await TcpProxy.start(fauxqs.hostname, Number(fauxqs.port));
    // Deferred cleanups run last first: the proxy heals, the service closes, then the proxy stops.
    harness().defer(() => proxy.stop());
    service = await harness().startApp({ SQS_ENDPOINT: `http://127.0.0.1:${proxy.port}` });
    harness().defer(() => proxy.heal());
  });

  it('refuses with 503 + Retry-After while cut, then stores what was queued meanwhile by itself', async () => {
    const { sqs, queues } = harness();
    const before = `wh-before-${randomUUID()}`;
    expect((await submit(before, { phase: 'before' })).status).toBe(202);
    await readWhenStored(before, 20_000);
    expect(proxy.connectionAttempts).toBeGreaterThan(0);

    proxy.cut();

    const refused = await submit(`wh-refused-${randomUUID()}`, { phase: 'cut' });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['content-type']).toMatch(/^application\/json/);
    expect(refused.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: expect.stringMatching(/\S/),
    });

    const notReady = await eventually(
      async () => {
        const response = await request(service.url).get('/health/ready');
        return response.status === 503 ? response : undefined;
      },
      10_000,
      'readiness to report SQS down',
    );
    expect(notReady.body).toMatchObject({
      status: 'error',
      checks: { sqs: { status: 'down' }, redis: { status: 'up' } },
    });

    // Another producer (another gateway instance, or AWS's API Gateway) still reaches the queue meanwhile.
    const queuedMeanwhile = Array.from({ length: 12 }, (_, index) => ({
      key: `wh-meanwhile-${randomUUID()}`,
      flowId: `meanwhile-${index % 3}`,
      index,
    }));
    for (const { key, flowId, index } of queuedMeanwhile) {
      const body = JSON.stringify({
        op: 'set',
        accountId: ACME.accountId,
        flowId,
        webhookKeys: [key],
        data: { index },
      });
      await sendRaw(sqs, queues.queueUrl, body, `${ACME.accountId}:${flowId}`);
    }

    // Nothing of ours calls SQS in this window: every connection attempt is the worker's. (That it still tries at
    // all shows once the wire is back: it catches up by itself.)
    const attemptsBefore = proxy.connectionAttempts;
    await new Promise((resolve) => setTimeout(resolve, QUIET_WINDOW_MS));
    const attemptsInWindow = proxy.connectionAttempts - attemptsBefore;
    expect(attemptsInWindow).toBeLessThan(MAX_ATTEMPTS_IN_QUIET_WINDOW);
    expect((await request(service.url).get('/health/live')).status).toBe(200);

    proxy.heal();

    for (const { key, index } of queuedMeanwhile) {
      const stored = await readWhenStored(key, 40_000);
      expect(stored.body.data).toEqual({ index });
    }
    await eventually(
      async () => ((await request(service.url).get('/health/ready')).status === 200 ? true : undefined),
      10_000,
      'readiness back',
    );
    const after = `wh-after-${randomUUID()}`;
    expect((await submit(after, { phase: 'after' })).status).toBe(202);
    expect((await readWhenStored(after, 20_000)).body.data).toEqual({ phase: 'after' });
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
  });
});
