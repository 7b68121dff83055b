import { Message } from '@aws-sdk/client-sqs';
import { SqsService } from '@ssut/nestjs-sqs';
import { RedisStatus } from '../store/redis-status';
import { Settled } from './ingest-batch';
import { IngestQueue } from './ingest-queue';
import { IngestConsumer } from './ingest.consumer';
import { IngestService } from './ingest.service';
import { Deferred, deferred, flush } from '../../test/support/deferred';

/** Whether `promise` has settled once pending callbacks have run. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await flush();
  return settled;
}

const batch = (name: string): Message[] => [{ MessageId: name, ReceiptHandle: `receipt-${name}`, Body: '{}' }];
const done = (messages: Message[]): Settled[] => messages.map((message) => ({ message, verdict: { kind: 'done' } }));

/**
 * The consumer with IngestService held by the test (each batch's processing ends when the test resolves it), and
 * the SQS side recording what it was asked to delete. Redis readiness is a switch.
 */
function consumerUnderTest() {
  const processing = new Map<string, Deferred<Settled[]>>();
  const acknowledged: string[][] = [];
  const redis = { ready: true };
  const ingest = {
    process: (messages: Message[]) => {
      const pending = deferred<Settled[]>();
      processing.set(messages[0].MessageId ?? '', pending);
      return pending.promise;
    },
  };
  const queue = {
    deadLetter: async () => [],
    acknowledge: async (messages: Message[]) => {
      acknowledged.push(messages.map((message) => message.MessageId ?? ''));
    },
  };
  const redisStatus = { isReady: () => redis.ready, waitUntilReady: async () => redis.ready };
  const consumer = new IngestConsumer(
    ingest as unknown as IngestService,
    queue as unknown as IngestQueue,
    { consumers: new Map() } as unknown as SqsService,
    redisStatus as unknown as RedisStatus,
  );
  const finish = (name: string) => processing.get(name)?.resolve(done(batch(name)));
  return { consumer, finish, acknowledged, redis };
}

describe('IngestConsumer.handleBatch', () => {
  it('hands control back while a batch is applied, so the next one is received meanwhile', async () => {
    const { consumer, finish, acknowledged } = consumerUnderTest();
    const first = consumer.handleBatch(batch('A'));
    expect(await isSettled(first)).toBe(true);
    expect(acknowledged).toEqual([]);
    finish('A');
    await flush();
    expect(acknowledged).toEqual([['A']]);
  });

  it('holds the third batch in hand until one of the three is settled', async () => {
    const { consumer, finish } = consumerUnderTest();
    await consumer.handleBatch(batch('A'));
    await consumer.handleBatch(batch('B'));
    const third = consumer.handleBatch(batch('C'));
    expect(await isSettled(third)).toBe(false);
    finish('B');
    expect(await isSettled(third)).toBe(true);
    const fourth = consumer.handleBatch(batch('D'));
    expect(await isSettled(fourth)).toBe(false);
    finish('A');
    expect(await isSettled(fourth)).toBe(true);
  });

  it('receives nothing more while Redis is not ready, until the batches in hand are settled', async () => {
    const { consumer, finish, redis, acknowledged } = consumerUnderTest();
    await consumer.handleBatch(batch('A'));
    redis.ready = false;
    const second = consumer.handleBatch(batch('B'));
    expect(await isSettled(second)).toBe(false);
    finish('B');
    expect(await isSettled(second)).toBe(false);
    finish('A');
    expect(await isSettled(second)).toBe(true);
    expect(acknowledged.sort()).toEqual([['A'], ['B']]);
  });

  it('waits at shutdown for every batch in hand and acknowledges each', async () => {
    const { consumer, finish, acknowledged } = consumerUnderTest();
    await consumer.handleBatch(batch('A'));
    await consumer.handleBatch(batch('B'));
    const shutdown = consumer.beforeApplicationShutdown();
    expect(await isSettled(shutdown)).toBe(false);
    finish('A');
    expect(await isSettled(shutdown)).toBe(false);
    finish('B');
    await shutdown;
    expect(acknowledged).toEqual([['A'], ['B']]);
  });
});
