import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { eventually } from './support/app';
import { useHarness } from './support/harness';
import { queueDepth } from './support/sqs';

describe('the service process', () => {
  const harness = useHarness({ queues: { visibilityTimeoutSeconds: 5 } });

  it('refuses to start on invalid configuration, naming every problem on its own line', async () => {
    const invalid = { PORT: 'eighty', SQS_DLQ_URL: 'http://example.com/not-fifo', WEBHOOK_KEY_SECRET: 'short' };
    const started = harness().spawnService(invalid);
    await expect(started).rejects.toThrow(/exited with 1/);
    const message = await started.then(
      () => '',
      (error: Error) => error.message,
    );
    expect(message).toContain('config error: PORT: must be an integer');
    expect(message).toContain('config error: SQS_DLQ_URL: must be the URL of a FIFO queue');
    expect(message).toContain('config error: WEBHOOK_KEY_SECRET: must be at least 16 characters long');
  });

  it('on SIGTERM stops receiving, finishes the batch in hand and exits 0 within 10 s; nothing is lost', async () => {
    const { sqs, queues, spawnService } = harness();
    const overrides = { LOG_LEVEL: 'info', SQS_WAIT_TIME_SECONDS: '20' };
    const first = await spawnService(overrides);
    await eventually(
      async () => ((await request(first.url).get('/health/ready')).status === 200 ? true : undefined),
      5_000,
      'ready',
    );

    const keys: string[] = [];
    for (let batch = 0; batch < 30; batch++) {
      const entries = Array.from({ length: 10 }, (_, index) => {
        const key = `wh-${randomUUID()}`;
        keys.push(key);
        return {
          Id: String(index),
          MessageBody: JSON.stringify({
            accountId: 'acme',
            flowId: `f${index}`,
            webhookKeys: [key],
            data: keys.length,
          }),
          MessageGroupId: `acme:f${index}`,
          MessageDeduplicationId: randomUUID(),
        };
      });
      await sqs.send(new SendMessageBatchCommand({ QueueUrl: queues.queueUrl, Entries: entries }));
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
    expect(first.output()).toContain('SIGTERM received');

    const second = await spawnService(overrides);
    try {
      await eventually(
        async () => ((await queueDepth(sqs, queues.queueUrl)) === 0 ? true : undefined),
        30_000,
        'queue drained',
      );
      // The queue may have been empty before this process had connected to Redis.
      await eventually(
        async () => ((await request(second.url).get('/health/ready')).status === 200 ? true : undefined),
        10_000,
        'ready',
      );
      const found = await request(second.url)
        .post('/v1/data/batch-get')
        .send({ webhookKeys: keys.slice(0, 100) });
      expect(found.body.missing).toEqual([]);
      for (let start = 100; start < keys.length; start += 100) {
        const rest = await request(second.url)
          .post('/v1/data/batch-get')
          .send({ webhookKeys: keys.slice(start, start + 100) });
        expect(rest.body.missing).toEqual([]);
      }
      expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
    }
  });
});
