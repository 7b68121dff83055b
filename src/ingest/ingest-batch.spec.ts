import { QueueMessage } from '../queue/sqs-types';
import { groupInReceiveOrder, settleInOrder, Verdict } from './ingest-batch';
import { Deferred, deferred, flush } from '../../test/support/deferred';

const DONE: Verdict = { kind: 'done', keys: { applied: 1, stale: 0, foreign: 0 } };

function sqsMessage(id: string, groupId?: string): QueueMessage {
  return {
    MessageId: id,
    Body: `{"id":"${id}"}`,
    ...(groupId !== undefined && { Attributes: { MessageGroupId: groupId } }),
  };
}

/** Message ids named after their group: A1 is the first message of group A. */
function grouped(id: string): QueueMessage {
  return sqsMessage(id, id.slice(0, 1));
}

const ids = (groups: QueueMessage[][]) => groups.map((group) => group.map((message) => message.MessageId));

const RETRY: Verdict = { kind: 'retry', error: 'Redis is unavailable: OOM', passingReason: 'OOM' };
const HELD_BEHIND_A2: Verdict = {
  kind: 'held-back',
  blockedBy: 'A2',
  error: 'Redis is unavailable: OOM',
  passingReason: 'OOM',
};
const DEAD_LETTER: Verdict = { kind: 'dead-letter', code: 'INVALID_MESSAGE', reason: 'accountId: missing' };

describe('groupInReceiveOrder', () => {
  it('keeps the receive order within each group of an interleaved batch', () => {
    const batch = ['A1', 'B1', 'A2', 'C1', 'B2', 'A3'].map(grouped);
    expect(ids(groupInReceiveOrder(batch))).toEqual([['A1', 'A2', 'A3'], ['B1', 'B2'], ['C1']]);
  });

  it('keeps the message objects themselves', () => {
    const batch = ['A1', 'A2'].map(grouped);
    const [group] = groupInReceiveOrder(batch);
    expect(group[0]).toBe(batch[0]);
    expect(group[1]).toBe(batch[1]);
  });

  it('makes each message without a MessageGroupId a group of its own', () => {
    const batch = [
      sqsMessage('X1'),
      grouped('A1'),
      sqsMessage('X2'),
      grouped('A2'),
      { MessageId: 'X3', Attributes: {} },
    ];
    expect(ids(groupInReceiveOrder(batch))).toEqual([['A1', 'A2'], ['X1'], ['X2'], ['X3']]);
  });

  it('returns no groups for an empty batch', () => {
    expect(groupInReceiveOrder([])).toEqual([]);
  });
});

describe('settleInOrder', () => {
  it('starts each message only after the previous one has settled', async () => {
    const group = ['A1', 'A2', 'A3'].map(grouped);
    const started: string[] = [];
    const pending = new Map<string, Deferred<Verdict>>();
    const handle = (message: QueueMessage) => {
      const id = message.MessageId ?? '';
      started.push(id);
      const verdict = deferred<Verdict>();
      pending.set(id, verdict);
      return verdict.promise;
    };

    const settling = settleInOrder(group, handle);
    await flush();
    expect(started).toEqual(['A1']);

    pending.get('A1')?.resolve(DONE);
    await flush();
    expect(started).toEqual(['A1', 'A2']);

    pending.get('A2')?.resolve(DEAD_LETTER);
    await flush();
    expect(started).toEqual(['A1', 'A2', 'A3']);

    pending.get('A3')?.resolve(DONE);
    expect((await settling).map((settled) => settled.verdict)).toEqual([DONE, DEAD_LETTER, DONE]);
  });

  it('returns each message with its verdict, in group order', async () => {
    const group = ['A1', 'A2'].map(grouped);
    const settled = await settleInOrder(group, async () => DONE);
    expect(settled).toEqual([
      { message: group[0], verdict: DONE },
      { message: group[1], verdict: DONE },
    ]);
    expect(settled[0].message).toBe(group[0]);
  });

  it('holds back the rest of the group after a retry, naming the message and the failure that blocked it', async () => {
    const group = ['A1', 'A2', 'A3', 'A4'].map(grouped);
    const verdicts: Record<string, Verdict> = { A1: DONE, A2: RETRY, A3: DONE, A4: DONE };
    const handled: string[] = [];
    const settled = await settleInOrder(group, async (message) => {
      handled.push(message.MessageId ?? '');
      return verdicts[message.MessageId ?? ''];
    });
    expect(handled).toEqual(['A1', 'A2']);
    expect(settled.map((entry) => entry.verdict)).toEqual([DONE, RETRY, HELD_BEHIND_A2, HELD_BEHIND_A2]);
  });

  it('holds back the whole group when its first message must be retried', async () => {
    const group = ['A1', 'A2'].map(grouped);
    const handle = jest.fn(async (): Promise<Verdict> => RETRY);
    const settled = await settleInOrder(group, handle);
    expect(handle).toHaveBeenCalledTimes(1);
    expect(settled.map((entry) => entry.verdict.kind)).toEqual(['retry', 'held-back']);
  });

  it('does not let dead-lettered messages block the later ones', async () => {
    const group = ['A1', 'A2', 'A3'].map(grouped);
    const handle = jest.fn(async (message: QueueMessage): Promise<Verdict> =>
      message.MessageId === 'A3' ? DONE : DEAD_LETTER,
    );
    const settled = await settleInOrder(group, handle);
    expect(handle.mock.calls.map(([message]) => message.MessageId)).toEqual(['A1', 'A2', 'A3']);
    expect(settled.map((entry) => entry.verdict.kind)).toEqual(['dead-letter', 'dead-letter', 'done']);
  });

  it('settles an empty group without calling the handler', async () => {
    const handle = jest.fn(async (): Promise<Verdict> => DONE);
    expect(await settleInOrder([], handle)).toEqual([]);
    expect(handle).not.toHaveBeenCalled();
  });
});
