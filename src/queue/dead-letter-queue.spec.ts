import { Message } from '@aws-sdk/client-sqs';
import { deadLetterOf, MOVED_BY_SQS } from './dead-letter-queue';
import { ATTRIBUTE, originAttributes, originOf } from './message-origin';

const text = (value: string) => ({ DataType: 'String', StringValue: value });

describe('originOf', () => {
  it('takes a first-time message from SQS, and a redriven one from its origin attributes', () => {
    const fresh: Message = {
      MessageId: 'm-1',
      Attributes: { SentTimestamp: '1000', MessageGroupId: 'acme:f', SequenceNumber: '17' },
    };
    expect(originOf(fresh)).toEqual({
      messageId: 'm-1',
      sentAt: 1000,
      groupId: 'acme:f',
      sequenceNumber: '17',
      redriven: false,
    });
    const redriven: Message = {
      MessageId: 'm-2',
      Attributes: { SentTimestamp: '9000', MessageGroupId: 'acme:f', SequenceNumber: '99' },
      MessageAttributes: { ...originAttributes(originOf(fresh)), [ATTRIBUTE.redriveJobId]: text('job') },
    };
    expect(originOf(redriven)).toEqual({ ...originOf(fresh), redriven: true });
  });

  it('says nothing of a send time SQS did not give, nor takes a redrive time for a send time', () => {
    expect(originOf({ MessageId: 'm' }).sentAt).toBeNull();
    expect(originOf({ MessageId: 'm', Attributes: { SentTimestamp: 'x' } }).sentAt).toBeNull();
    const redrivenUnknown: Message = {
      MessageId: 'm-3',
      Attributes: { SentTimestamp: '9000' },
      MessageAttributes: { [ATTRIBUTE.messageId]: text('m-1'), [ATTRIBUTE.redriveJobId]: text('job') },
    };
    expect(originOf(redrivenUnknown)).toMatchObject({ messageId: 'm-1', sentAt: null, redriven: true });
  });
});

describe('deadLetterOf', () => {
  it('reads what the worker wrote on a dead letter, alone in its own group', () => {
    const letter = deadLetterOf({
      MessageId: 'dlq-copy',
      ReceiptHandle: 'r',
      Body: '{}',
      Attributes: { MessageGroupId: 'm-1', SentTimestamp: '5000', ApproximateReceiveCount: '2' },
      MessageAttributes: {
        [ATTRIBUTE.messageId]: text('m-1'),
        [ATTRIBUTE.sentAt]: text('1000'),
        [ATTRIBUTE.groupId]: text('acme:f'),
        [ATTRIBUTE.errorCode]: text('INVALID_MESSAGE'),
        [ATTRIBUTE.errorMessage]: text('data: required'),
        [ATTRIBUTE.deadLetteredAt]: text('4000'),
        [ATTRIBUTE.receiveCount]: text('1'),
      },
    });
    expect(letter).toMatchObject({
      sqsMessageId: 'dlq-copy',
      origin: { messageId: 'm-1', sentAt: 1000, groupId: 'acme:f' },
      errorCode: 'INVALID_MESSAGE',
      errorMessage: 'data: required',
      deadLetteredAt: 4000,
      receiveCount: 1,
      alone: true,
    });
  });

  it('marks a message SQS moved by itself, in its ingest group, with the time it was found', () => {
    const letter = deadLetterOf(
      {
        MessageId: 'm-7',
        Attributes: { MessageGroupId: 'acme:f', SentTimestamp: '1000', ApproximateReceiveCount: '6' },
      },
      8000,
    );
    expect(letter).toMatchObject({
      // SQS reset the send time when it moved the message: the first one is unknown.
      origin: { messageId: 'm-7', sentAt: null, groupId: 'acme:f' },
      errorCode: MOVED_BY_SQS,
      deadLetteredAt: 8000,
      receiveCount: 6,
      alone: false,
    });
    expect(letter.errorMessage).toContain('after 6 receives');
  });
});
