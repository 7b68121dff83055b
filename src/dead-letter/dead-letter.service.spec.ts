import { DeadLetterEntry } from '../store/dead-letter-index';
import { inGroupOrder } from './dead-letter.service';

const entry = (messageId: string, groupId: string, sentAt: number, sequenceNumber?: string): DeadLetterEntry => ({
  messageId,
  groupId,
  errorCode: 'RETRIES_EXHAUSTED',
  errorMessage: '',
  deadLetteredAt: 0,
  receiveCount: 1,
  sentAt,
  ...(sequenceNumber !== undefined && { sequenceNumber }),
  body: '',
});

describe('inGroupOrder', () => {
  it('orders by group, then first send time, then sequence number as a number of any length', () => {
    const entries = [
      entry('b2', 'b', 20),
      entry('a3', 'a', 30),
      entry('a2', 'a', 10, '100'),
      entry('a1', 'a', 10, '99'),
      entry('b1', 'b', 10),
    ];
    expect(entries.sort(inGroupOrder).map(({ messageId }) => messageId)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
  });
});
