import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { eventually, WEBHOOK_KEY_SECRET } from './support/app';
import { metricValue, submitRecord, useDrill } from './support/ingest-drill';
import { drainMessages, queueDepth } from './support/sqs';

describe('drill: Redis paused for writes (CLIENT PAUSE) longer than the visibility timeout, two workers on one queue', () => {
  const drill = useDrill({ visibilityTimeoutSeconds: 2, maxReceiveCount: 3, workers: 2 });

  it('keeps the held group invisible to the other worker, applies each message once in order, dead-letters nothing', async () => {
    const { redis, sqs, queues, apps } = drill();
    const [service] = apps;
    const key = `wh-pause-${randomUUID()}`;
    const seen: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const response = await request(service.url).get('/v1/data').set('x-webhook-key', key);
        if (response.status === 200 && seen.at(-1) !== response.body.data.seq) seen.push(response.body.data.seq);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    await redis.inspect.call('CLIENT', 'PAUSE', '6000', 'WRITE');
    // One unversioned sequence in ONE group, sent in order: the last one sent must be the value that stays.
    for (let seq = 0; seq < 30; seq++) expect(await submitRecord(service, 'pause-one-group', key, { seq })).toBe(202);
    try {
      await eventually(async () => (seen.at(-1) === 29 ? true : undefined), 40_000, 'the last value sent to be stored');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      watching = false;
      await watcher;
    }

    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    let stored = 0;
    let extended = 0;
    for (const worker of apps) {
      stored += await metricValue(worker, 'setgetapi_ingest_messages_total{outcome="stored",reason=""}');
      extended += await metricValue(worker, 'setgetapi_ingest_visibility_extensions_total{outcome="extended"}');
    }
    // A batch received a second time while held would be applied twice: more than 30 stores between the workers.
    expect(stored).toBe(30);
    expect(extended).toBeGreaterThan(0);
  });
});

describe('drill: a message that keeps failing for a reason other than Redis refusing writes (RETRIES_EXHAUSTED)', () => {
  const drill = useDrill({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });

  it('is moved to the DLQ by the worker at its last receive with RETRIES_EXHAUSTED and the error; the next one then applies', async () => {
    const {
      redis,
      sqs,
      queues,
      apps: [service],
    } = drill();
    const key = `wh-wrongtype-${randomUUID()}`;
    // A string where the record hash belongs: the write script fails with WRONGTYPE on every attempt.
    await redis.inspect.set(
      new KeyLayout('sg:').record(new WebhookKeyDigester(WEBHOOK_KEY_SECRET).digest(key)),
      'not a hash',
    );
    expect(await submitRecord(service, 'wrongtype', key, { attempt: 1 })).toBe(202);
    expect(await submitRecord(service, 'wrongtype', `${key}-next`, { attempt: 2 })).toBe(202);

    const [dead] = await drainMessages(sqs, queues.dlqUrl, 1, 20_000);
    expect(dead.MessageAttributes?.errorCode?.StringValue).toBe('RETRIES_EXHAUSTED');
    expect(dead.MessageAttributes?.errorMessage?.StringValue).toMatch(/^receive 2 of 2: .*WRONGTYPE/);
    expect(JSON.parse(dead.Body ?? '{}')).toMatchObject({ webhookKeys: [key] });
    // The message behind it in its group waited for it (held back, never applied first), then went through.
    const next = await eventually(async () => {
      const response = await request(service.url).get('/v1/data').set('x-webhook-key', `${key}-next`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(next.data).toEqual({ attempt: 2 });
    expect(
      await metricValue(service, 'setgetapi_ingest_messages_total{outcome="rejected",reason="RETRIES_EXHAUSTED"}'),
    ).toBe(1);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
  });
});
