import { SqsService } from '@ssut/nestjs-sqs';
import { QueueMessage } from '../queue/sqs-types';
import { BatchSettler } from './batch-settler';
import { IngestConsumer, INGEST_CONSUMER } from './ingest.consumer';
import { PauseListener, PauseState, WritePause } from './write-pause';
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

const batch = (name: string): QueueMessage[] => [{ MessageId: name, ReceiptHandle: `receipt-${name}`, Body: '{}' }];

/**
 * The consumer with BatchSettler held by the test (each batch is settled when the test says so), a fake
 * sqs-consumer recording stop and start, and a WritePause the test drives through its listener.
 */
function consumerUnderTest() {
  const settling = new Map<string, Deferred<void>>();
  const settled: string[] = [];
  const settler = {
    settle: (messages: QueueMessage[]) => {
      const name = messages[0].MessageId ?? '';
      const pending = deferred<void>();
      settling.set(name, pending);
      return pending.promise.then(() => void settled.push(name));
    },
  };
  const sqsConsumer = {
    status: { isRunning: true, isPolling: false },
    calls: [] as string[],
    stop(options?: { abort?: boolean }) {
      this.calls.push(options?.abort ? 'stop(abort)' : 'stop');
      this.status.isRunning = false;
    },
    start() {
      this.calls.push('start');
      this.status.isRunning = true;
    },
    updateOption(option: string, value: number) {
      this.calls.push(`${option}=${value}`);
    },
  };
  let listener: PauseListener | undefined;
  let paused: PauseState | null = null;
  const pause = {
    listen: (given: PauseListener) => (listener = given),
    current: () => paused,
    shutdown: jest.fn(),
  };
  const consumer = new IngestConsumer(
    settler as unknown as BatchSettler,
    { consumers: new Map([[INGEST_CONSUMER, { instance: sqsConsumer }]]) } as unknown as SqsService,
    pause as unknown as WritePause,
  );
  const finish = (name: string) => settling.get(name)?.resolve();
  const setPaused = (state: PauseState | null) => {
    paused = state;
    if (state) listener?.paused(state);
    else listener?.resumed();
  };
  return { consumer, finish, settled, sqsConsumer, setPaused, pause };
}

describe('IngestConsumer.handleBatch', () => {
  it('hands control back while a batch is applied, so the next one is received meanwhile', async () => {
    const { consumer, finish, settled } = consumerUnderTest();
    const first = consumer.handleBatch(batch('A'));
    expect(await isSettled(first)).toBe(true);
    expect(settled).toEqual([]);
    finish('A');
    await flush();
    expect(settled).toEqual(['A']);
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

  it('stops receiving (aborting a long poll) when Redis refuses writes, and starts again once the old poll ended', async () => {
    const { sqsConsumer, setPaused } = consumerUnderTest();
    setPaused({ reason: 'OOM', error: 'OOM command not allowed', since: new Date() });
    expect(sqsConsumer.calls).toEqual(['pollingWaitTimeMs=0', 'stop(abort)']);
    sqsConsumer.status.isPolling = true;
    setPaused(null);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(sqsConsumer.calls).toEqual(['pollingWaitTimeMs=0', 'stop(abort)']);
    sqsConsumer.status.isPolling = false;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(sqsConsumer.calls).toEqual(['pollingWaitTimeMs=0', 'stop(abort)', 'start']);
  });

  it('does not start receiving again when shutdown began during the pause', async () => {
    const { consumer, sqsConsumer, setPaused, pause } = consumerUnderTest();
    setPaused({ reason: 'READONLY', error: 'READONLY', since: new Date() });
    await consumer.beforeApplicationShutdown();
    expect(pause.shutdown).toHaveBeenCalled();
    setPaused(null);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sqsConsumer.calls.filter((call) => call === 'start')).toEqual([]);
  });

  it('waits at shutdown for every batch in hand to be settled', async () => {
    const { consumer, finish, settled } = consumerUnderTest();
    await consumer.handleBatch(batch('A'));
    await consumer.handleBatch(batch('B'));
    const shutdown = consumer.beforeApplicationShutdown();
    expect(await isSettled(shutdown)).toBe(false);
    finish('A');
    expect(await isSettled(shutdown)).toBe(false);
    finish('B');
    await shutdown;
    expect(settled).toEqual(['A', 'B']);
  });
});
