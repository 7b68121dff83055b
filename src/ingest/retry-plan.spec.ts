import { ReplyError } from 'ioredis';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { QueueMessage } from '../queue/sqs-types';
import { Settled, Verdict } from './ingest-batch';
import {
  atLastReceive,
  failureOf,
  isUnsettled,
  passingReasonOf,
  planLeaving,
  planRetries,
  receiveCountOf,
  Unsettled,
} from './retry-plan';

const DONE: Verdict = { kind: 'done', keys: { applied: 1, stale: 0, foreign: 0 } };

function received(id: string, receiveCount?: number): QueueMessage {
  return {
    MessageId: id,
    ReceiptHandle: `receipt-${id}`,
    Attributes: {
      MessageGroupId: id.slice(0, 1),
      ...(receiveCount !== undefined && { ApproximateReceiveCount: String(receiveCount) }),
    },
  };
}

const failed = (id: string, receives: number, passingReason: string | null, error = 'boom'): Unsettled => ({
  message: received(id, receives),
  verdict: { kind: 'retry', error, passingReason },
});
const heldBack = (
  id: string,
  receives: number,
  blockedBy: string,
  passingReason: string | null,
  error = 'boom',
): Unsettled => ({
  message: received(id, receives),
  verdict: { kind: 'held-back', blockedBy, error, passingReason },
});
const ids = (messages: QueueMessage[]) => messages.map((message) => message.MessageId);

describe('receiveCountOf / atLastReceive', () => {
  it('reads ApproximateReceiveCount, counting a message SQS said nothing about as received once', () => {
    expect(receiveCountOf(received('A1', 3))).toBe(3);
    expect(receiveCountOf(received('A1'))).toBe(1);
    expect(receiveCountOf({ MessageId: 'x', Attributes: { ApproximateReceiveCount: 'garbage' } })).toBe(1);
  });

  it('is the last receive at or beyond maxReceiveCount, and never without a limit', () => {
    expect(atLastReceive(received('A1', 1), 2)).toBe(false);
    expect(atLastReceive(received('A1', 2), 2)).toBe(true);
    expect(atLastReceive(received('A1', 5), 2)).toBe(true);
    expect(atLastReceive(received('A1', 1000), null)).toBe(false);
  });
});

describe('planRetries', () => {
  it('holds passing failures and the messages held back behind them, whatever their receive count', () => {
    const plan = planRetries([failed('A1', 2, 'OOM'), heldBack('A2', 2, 'A1', 'OOM'), failed('B1', 1, 'timeout')], 2);
    expect(ids(plan.hold.map(({ message }) => message))).toEqual(['A1', 'A2', 'B1']);
    expect(plan.exhausted).toEqual([]);
    expect(plan.redeliver).toEqual([]);
  });

  it('leaves other failures to SQS before their last receive', () => {
    const plan = planRetries([failed('A1', 1, null), heldBack('A2', 1, 'A1', null)], 2);
    expect(plan.hold).toEqual([]);
    expect(ids(plan.redeliver)).toEqual(['A1', 'A2']);
    expect(plan.exhausted).toEqual([]);
  });

  it('dead-letters other failures at their last receive with RETRIES_EXHAUSTED and the last error', () => {
    const plan = planRetries(
      [failed('A1', 2, null, 'WRONGTYPE Operation against a key holding the wrong kind of value')],
      2,
    );
    expect(plan.exhausted).toEqual([
      {
        message: expect.objectContaining({ MessageId: 'A1' }),
        code: 'RETRIES_EXHAUSTED',
        reason: 'receive 2 of 2: WRONGTYPE Operation against a key holding the wrong kind of value',
      },
    ]);
  });

  it('says which earlier message blocked a held-back message at its last receive, and why', () => {
    const plan = planRetries(
      [failed('A1', 1, null, 'ERR script bug'), heldBack('A2', 2, 'A1', null, 'ERR script bug')],
      2,
    );
    expect(ids(plan.redeliver)).toEqual(['A1']);
    expect(plan.exhausted.map(({ reason }) => reason)).toEqual([
      'receive 2 of 2: held back behind message A1 of its group, which failed: ERR script bug',
    ]);
  });

  it('never dead-letters when the queue has no redrive policy', () => {
    const plan = planRetries([failed('A1', 50, null)], null);
    expect(ids(plan.redeliver)).toEqual(['A1']);
  });
});

describe('planLeaving (shutdown while messages are held)', () => {
  it('dead-letters the held messages at their last receive and hands the others back', () => {
    const { exhausted, redeliver } = planLeaving(
      [failed('A1', 3, 'OOM', 'Redis is unavailable: OOM'), failed('B1', 1, 'OOM')],
      3,
    );
    expect(exhausted.map(({ message, code, reason }) => [message.MessageId, code, reason])).toEqual([
      ['A1', 'RETRIES_EXHAUSTED', 'receive 3 of 3: Redis is unavailable: OOM'],
    ]);
    expect(ids(redeliver)).toEqual(['B1']);
  });
});

describe('isUnsettled', () => {
  it('picks failed and held-back messages', () => {
    const settled: Settled[] = [
      { message: received('A1'), verdict: DONE },
      { message: received('B1'), verdict: { kind: 'dead-letter', code: 'INVALID_JSON', reason: 'x' } },
      failed('C1', 1, null),
      heldBack('C2', 1, 'C1', null),
    ];
    expect(ids(settled.filter(isUnsettled).map(({ message }) => message))).toEqual(['C1', 'C2']);
  });
});

describe('failureOf / passingReasonOf', () => {
  const unavailable = (cause: Error) => new DependencyUnavailableError('Redis', cause);

  it('names the refusing reply of a passing failure', () => {
    for (const code of ['OOM', 'READONLY', 'LOADING', 'MASTERDOWN', 'CLUSTERDOWN', 'TRYAGAIN', 'BUSY', 'NOREPLICAS']) {
      expect(failureOf(unavailable(new ReplyError(`${code} something`)))).toEqual({
        error: `Redis is unavailable: ${code} something`,
        passingReason: code,
      });
    }
  });

  it('tells a timeout from a lost connection', () => {
    expect(passingReasonOf(new Error('Command timed out'))).toBe('timeout');
    expect(passingReasonOf(new Error('Redis write probe: no answer within 1000 ms'))).toBe('timeout');
    expect(passingReasonOf(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(
      'unreachable',
    );
    expect(passingReasonOf(unavailable(new Error('Connection is closed.')))).toBe('unreachable');
  });

  it('is not passing for anything but a DependencyUnavailableError', () => {
    expect(failureOf(new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value'))).toEqual({
      error: 'WRONGTYPE Operation against a key holding the wrong kind of value',
      passingReason: null,
    });
    expect(failureOf(new ReplyError('OOM not wrapped')).passingReason).toBeNull();
  });
});
