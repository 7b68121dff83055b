import { MetricsService } from '../metrics/metrics.service';
import { QueueMessage } from '../queue/sqs-types';
import { DeadLetterEntry, DeadLetterIndex } from '../store/dead-letter-index';
import { MessageStatus, MessageStatusStore } from '../store/message-status-store';
import { DecisionRecorder } from './decision-recorder';
import { Settled } from './ingest-batch';

function received(id: string): QueueMessage {
  return { MessageId: id, ReceiptHandle: `r-${id}`, Attributes: { MessageGroupId: 'acme:orders' } };
}

/** A recorder over in-memory stand-ins for the status store and the dead-letter index (no Redis behaviour here). */
function recorderUnderTest(options: { refuseStatuses?: boolean } = {}) {
  const saved: MessageStatus[][] = [];
  const statuses = {
    save: async (batch: MessageStatus[]) => {
      if (options.refuseStatuses) throw new Error('OOM command not allowed');
      saved.push(batch);
    },
  };
  const indexed: DeadLetterEntry[] = [];
  const deadLetters = { add: async (entries: DeadLetterEntry[]) => void indexed.push(...entries) };
  const unrecorded = jest.fn();
  const metrics = { decisionsUnrecorded: { inc: unrecorded } };
  const recorder = new DecisionRecorder(
    statuses as unknown as MessageStatusStore,
    deadLetters as unknown as DeadLetterIndex,
    metrics as unknown as MetricsService,
  );
  return { recorder, saved, indexed, unrecorded };
}

const KEYS = { applied: 2, stale: 0, foreign: 0 };

describe('DecisionRecorder', () => {
  it('stores the status of an applied message on its own (recordApplied) and says so', async () => {
    const { recorder, saved } = recorderUnderTest();
    expect(await recorder.recordApplied(received('m1'), KEYS)).toBe(true);
    expect(saved).toEqual([
      [
        expect.objectContaining({
          messageId: 'm1',
          accountId: 'acme',
          flowId: 'orders',
          status: 'applied',
          keys: KEYS,
        }),
      ],
    ]);
  });

  it('answers false instead of rejecting when Redis refuses that status', async () => {
    const { recorder, unrecorded } = recorderUnderTest({ refuseStatuses: true });
    await expect(recorder.recordApplied(received('m1'), KEYS)).resolves.toBe(false);
    // Not counted yet: the batch's record() writes it again, and counts it if that fails too.
    expect(unrecorded).not.toHaveBeenCalled();
  });

  it("writes with the batch only the statuses not stored already, and every dead letter's", async () => {
    const { recorder, saved, indexed } = recorderUnderTest();
    const applied: Settled[] = [
      { message: received('stored-early'), verdict: { kind: 'done', keys: KEYS, statusRecorded: true } },
      { message: received('not-stored'), verdict: { kind: 'done', keys: KEYS, statusRecorded: false } },
      { message: received('stale-only'), verdict: { kind: 'done', keys: { applied: 0, stale: 1, foreign: 0 } } },
    ];
    await recorder.record(applied, [
      {
        message: received('refused'),
        code: 'KEY_OWNED_BY_OTHER_ACCOUNT',
        reason: 'owned',
        keys: { ...KEYS, applied: 0, foreign: 2 },
      },
    ]);
    expect(saved).toHaveLength(1);
    expect(saved[0].map(({ messageId, status }) => `${messageId}:${status}`)).toEqual([
      'not-stored:applied',
      'stale-only:applied',
      'refused:dead-lettered',
    ]);
    expect(indexed.map(({ messageId }) => messageId)).toEqual(['refused']);
  });
});
