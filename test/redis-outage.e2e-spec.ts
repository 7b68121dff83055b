import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ACME, eventually } from './support/app';
import { useHarness } from './support/harness';
import { standaloneRedis } from './support/redis-target';
import { queueDepth } from './support/sqs';

describe('Redis outage while messages arrive', () => {
  const harness = useHarness({
    // Few receives allowed: a worker that kept receiving while Redis is away would push messages to the DLQ.
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 3 },
    env: { SQS_VISIBILITY_TIMEOUT: '1' },
    apps: 1,
  });

  it('keeps accepting, reports Redis down, answers reads 503, and stores every message once Redis is back', async () => {
    const {
      redis: { server: redis },
      sqs,
      queues,
      apps: [service],
    } = harness();
    const keys = Array.from({ length: 30 }, () => `wh-${randomUUID()}`);
    const submit = (key: string, index: number) =>
      request(service.url)
        .post('/v1/records')
        .set('x-api-key', ACME.apiKey)
        .send({ accountId: 'acme', flowId: `outage-${index % 3}`, webhookKeys: [key], data: { index } });

    await redis.stop();
    const downAt = Date.now();
    const accepted = await Promise.all(keys.map((key, index) => submit(key, index)));
    expect(accepted.map((response) => response.status)).toEqual(keys.map(() => 202));

    const notReady = await eventually(
      async () => {
        const response = await request(service.url).get('/health/ready');
        return response.status === 503 ? response : undefined;
      },
      5_000,
      'readiness to report Redis down',
    );
    expect(Date.now() - downAt).toBeLessThan(5_000);
    expect(notReady.body).toMatchObject({
      statusCode: 503,
      status: 'error',
      checks: { redis: { status: 'down' }, sqs: { status: 'up' } },
    });

    const started = Date.now();
    const read = await request(service.url).get('/v1/data').set('x-webhook-key', keys[0]);
    expect(read.status).toBe(503);
    expect(read.headers['retry-after']).toBeDefined();
    expect(read.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
    expect(Date.now() - started).toBeLessThan(1_000);

    // Long enough for several visibility timeouts: a worker still receiving would burn through maxReceiveCount.
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await redis.launch();

    for (const [index, key] of keys.entries()) {
      const stored = await eventually(
        async () => {
          const response = await request(service.url).get('/v1/data').set('x-webhook-key', key);
          return response.status === 200 ? response : undefined;
        },
        20_000,
        `message ${index} stored after Redis came back`,
      );
      expect(stored.body.data).toEqual({ index });
    }
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    expect((await request(service.url).get('/health/ready')).status).toBe(200);
  });
});

describe('Redis killed (SIGKILL) and restarted while messages keep arriving', () => {
  const harness = useHarness({
    // Every write fsynced before Redis answers, as a Redis used for storage runs: what the service was told is
    // stored survives the kill, so anything missing afterwards was lost by the service.
    redis: () => standaloneRedis(['--appendonly', 'yes', '--appendfsync', 'always']),
    queues: { visibilityTimeoutSeconds: 1, maxReceiveCount: 10 },
    env: { SQS_VISIBILITY_TIMEOUT: '1' },
    apps: 1,
  });

  it('goes unready during the outage, ready after it, and stores every message sent before, during and after', async () => {
    const {
      redis: { server: redis },
      sqs,
      queues,
      apps: [service],
    } = harness();
    const run = randomUUID().slice(0, 8);
    const accepted: string[] = [];
    const refused: number[] = [];
    let producing = true;
    // One producer sending without pause but one request at a time, across four FIFO groups.
    const producer = (async () => {
      for (let index = 0; producing; index++) {
        const key = `wh-load-${run}-${index}`;
        const response = await request(service.url)
          .post('/v1/records')
          .set('x-api-key', ACME.apiKey)
          .send({ accountId: 'acme', flowId: `load-${index % 4}`, webhookKeys: [key], data: { index } });
        if (response.status === 202) accepted.push(key);
        else refused.push(response.status);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const readiness = async () => (await request(service.url).get('/health/ready')).status;
    const acceptedAtLeast = (count: number, what: string) =>
      eventually(async () => (accepted.length >= count ? true : undefined), 30_000, what);

    try {
      await acceptedAtLeast(20, '20 messages accepted before the kill');
      await eventually(
        async () => {
          const response = await request(service.url).get('/v1/data').set('x-webhook-key', accepted[10]);
          return response.status === 200 ? true : undefined;
        },
        20_000,
        'the worker storing before the kill',
      );

      await redis.stop();
      const acceptedAtKill = accepted.length;
      await eventually(
        async () => ((await readiness()) === 503 ? true : undefined),
        10_000,
        'readiness to report Redis down',
      );
      await acceptedAtLeast(acceptedAtKill + 150, '150 messages accepted during the outage');

      await redis.launch();
      await eventually(
        async () => ((await readiness()) === 200 ? true : undefined),
        20_000,
        'readiness back after Redis restarted',
      );
      const acceptedAtRecovery = accepted.length;
      await acceptedAtLeast(acceptedAtRecovery + 60, '60 messages accepted after the recovery');
    } finally {
      producing = false;
      await producer;
    }

    expect(refused).toEqual([]);
    const stored = await eventually(
      async () => {
        const found: Record<string, { data: { index: number } }> = {};
        for (let start = 0; start < accepted.length; start += 100) {
          const response = await request(service.url)
            .post('/v1/data/batch-get')
            .send({ webhookKeys: accepted.slice(start, start + 100) });
          if (response.status !== 200 || response.body.missing.length > 0) return undefined;
          Object.assign(found, response.body.items);
        }
        return found;
      },
      60_000,
      `all ${accepted.length} accepted messages stored`,
    );
    expect(accepted.map((key) => stored[key].data.index)).toEqual(accepted.map((_, index) => index));
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
  });
});
