import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { IngestQueue } from '../queue/ingest-queue';
import { QueueMessage } from '../queue/sqs-types';
import { RedisStatus } from '../store/redis-status';
import { DecisionRecorder } from './decision-recorder';
import { BatchSettler } from './batch-settler';
import { DeadLetter, Settled, Verdict } from './ingest-batch';
import { IngestService } from './ingest.service';
import { WritePause } from './write-pause';

const DONE: Verdict = { kind: 'done', keys: { applied: 1, stale: 0, foreign: 0 } };

const OOM: Verdict = { kind: 'retry', error: 'Redis is unavailable: OOM', passingReason: 'OOM' };

function received(id: string, receiveCount = 1): QueueMessage {
  return {
    MessageId: id,
    ReceiptHandle: `r-${id}`,
    Attributes: { MessageGroupId: id.slice(0, 1), ApproximateReceiveCount: String(receiveCount) },
  };
}

/**
 * A settler whose IngestService answers from a script of verdict rounds (round n answers the n-th process call),
 * with the SQS side recording deletes, dead letters and visibility changes, and a WritePause answering as told.
 */
function settlerUnderTest(
  rounds: Record<string, Verdict>[],
  options: { writable?: boolean; maxReceiveCount?: number; refuseExtension?: string[] } = {},
) {
  const processed: string[][] = [];
  const ingest = {
    process: async (messages: QueueMessage[]): Promise<Settled[]> => {
      const verdicts = rounds[processed.length];
      processed.push(messages.map((message) => message.MessageId ?? ''));
      return messages.map((message) => ({ message, verdict: verdicts[message.MessageId ?? ''] }));
    },
  };
  const deleted: string[] = [];
  const deadLettered: string[] = [];
  const visibility: string[] = [];
  const queue = {
    acknowledge: async (messages: QueueMessage[]) =>
      void deleted.push(...messages.map((message) => message.MessageId ?? '')),
    deadLetter: async (letters: DeadLetter[]) => {
      deadLettered.push(...letters.map(({ message, code }) => `${message.MessageId}:${code}`));
      return letters.map(({ message }) => message);
    },
    changeVisibility: async (messages: QueueMessage[], seconds: number) => {
      visibility.push(...messages.map((message) => `${message.MessageId}=${seconds}`));
      return messages.filter((message) => options.refuseExtension?.includes(message.MessageId ?? ''));
    },
    maxReceiveCount: async () => options.maxReceiveCount ?? null,
  };
  const pause = { untilWritable: jest.fn(async () => options.writable ?? true) };
  const settler = new BatchSettler(
    ingest as unknown as IngestService,
    queue as unknown as IngestQueue,
    pause as unknown as WritePause,
    new MetricsService(),
    { isReady: () => true } as unknown as RedisStatus,
    { record: async () => undefined } as unknown as DecisionRecorder,
    { sqs: { visibilityTimeoutSeconds: 30 } } as AppConfig,
  );
  return { settler, processed, deleted, deadLettered, visibility, pause };
}

describe('BatchSettler', () => {
  it('retries a passing failure and the messages held back behind it in process, in group order, once Redis takes writes', async () => {
    const held: Verdict = { kind: 'held-back', blockedBy: 'A1', error: OOM.error, passingReason: 'OOM' };
    const { settler, processed, deleted, deadLettered, pause } = settlerUnderTest([
      { A1: OOM, A2: held, B1: DONE },
      { A1: DONE, A2: DONE },
    ]);
    await settler.settle([received('A1'), received('B1'), received('A2')]);
    expect(pause.untilWritable).toHaveBeenCalledWith(OOM);
    expect(processed).toEqual([
      ['A1', 'B1', 'A2'],
      ['A1', 'A2'],
    ]);
    expect(deleted).toEqual(['B1', 'A1', 'A2']);
    expect(deadLettered).toEqual([]);
  });

  it('after a hold, applies no message whose visibility SQS refused, nor the later ones of its group', async () => {
    const held: Verdict = { kind: 'held-back', blockedBy: 'A1', error: OOM.error, passingReason: 'OOM' };
    const { settler, processed, deleted } = settlerUnderTest([{ A1: OOM, A2: held, B1: OOM }, { B1: DONE }], {
      refuseExtension: ['A1'],
    });
    await settler.settle([received('A1'), received('A2'), received('B1')]);
    // A1 may be in another worker's hands now: A1 and A2 are left to SQS, which hands them out again in order.
    expect(processed).toEqual([['A1', 'A2', 'B1'], ['B1']]);
    expect(deleted).toEqual(['B1']);
  });

  it('holds a passing failure even at its last receive: holding costs no receive', async () => {
    const { settler, deleted, deadLettered } = settlerUnderTest([{ A1: OOM }, { A1: DONE }], {
      maxReceiveCount: 2,
    });
    await settler.settle([received('A1', 2)]);
    expect(deadLettered).toEqual([]);
    expect(deleted).toEqual(['A1']);
  });

  it('at shutdown hands held messages back at once, dead-lettering those at their last receive', async () => {
    const { settler, deleted, deadLettered, visibility } = settlerUnderTest([{ A1: OOM, B1: OOM }], {
      writable: false,
      maxReceiveCount: 3,
    });
    await settler.settle([received('A1', 3), received('B1', 1)]);
    expect(deadLettered).toEqual(['A1:RETRIES_EXHAUSTED']);
    expect(deleted).toEqual(['A1']);
    expect(visibility).toEqual(['B1=0']);
  });

  it('dead-letters a non-passing failure at its last receive and leaves an earlier one to SQS', async () => {
    const wrongType: Verdict = { kind: 'retry', error: 'WRONGTYPE', passingReason: null };
    const { settler, deleted, deadLettered, pause } = settlerUnderTest([{ A1: wrongType, B1: wrongType }], {
      maxReceiveCount: 2,
    });
    await settler.settle([received('A1', 2), received('B1', 1)]);
    expect(pause.untilWritable).not.toHaveBeenCalled();
    expect(deadLettered).toEqual(['A1:RETRIES_EXHAUSTED']);
    expect(deleted).toEqual(['A1']);
  });
});
