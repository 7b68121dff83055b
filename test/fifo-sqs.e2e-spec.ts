import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  Message,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  ReceiveMessageCommandInput,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createQueuePair, drainMessages, queueDepth, receiveStats, testSqsClient } from './support/sqs';

const bodies = (messages: Message[] | undefined) => (messages ?? []).map((message) => message.Body);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, index) => `m${from + index}`);

/** Sends `count` messages to one group, in order, ten per SendMessageBatch. */
async function sendToGroup(
  sqs: SQSClient,
  queueUrl: string,
  groupId: string,
  count: number,
  prefix = 'm',
): Promise<void> {
  for (let start = 0; start < count; start += 10) {
    const entries = Array.from({ length: Math.min(10, count - start) }, (_, index) => ({
      Id: String(index),
      MessageBody: `${prefix}${start + index}`,
      MessageGroupId: groupId,
      MessageDeduplicationId: `${groupId}-${prefix}${start + index}`,
    }));
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    expect(sent.Failed ?? []).toEqual([]);
  }
}

describe('the batching FIFO test SQS (test/support/fifo-sqs-server.ts)', () => {
  let sqs: SQSClient;
  beforeAll(() => {
    sqs = testSqsClient({ batchingFifo: true });
  });
  afterAll(() => sqs.destroy());

  const receive = (queueUrl: string, input: Partial<ReceiveMessageCommandInput> = {}) =>
    sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageSystemAttributeNames: ['All'],
          ...input,
        }),
      )
      .then((received) => received.Messages ?? []);
  const entries = (messages: Message[], extra: { VisibilityTimeout?: number } = {}) =>
    messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle, ...extra }));

  it('hands out up to ten messages of a group per receive, in order, and nothing more of it while they are in flight', async () => {
    const { queueUrl } = await createQueuePair(sqs, { visibilityTimeoutSeconds: 30 });
    await sendToGroup(sqs, queueUrl, 'a', 25);
    await sendToGroup(sqs, queueUrl, 'b', 2, 'b');

    const first = await receive(queueUrl);
    expect(bodies(first)).toEqual(range(0, 10));
    expect(first.every((message) => message.Attributes?.MessageGroupId === 'a')).toBe(true);
    const sequenceNumbers = first.map((message) => BigInt(message.Attributes?.SequenceNumber ?? '0'));
    expect(sequenceNumbers).toEqual([...sequenceNumbers].sort((x, y) => (x < y ? -1 : 1)));
    expect(first[0].Attributes).toMatchObject({ ApproximateReceiveCount: '1', MessageDeduplicationId: 'a-m0' });
    expect(Number(first[0].Attributes?.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);

    // Group a is locked while any of its messages is in flight; group b is served.
    expect(bodies(await receive(queueUrl))).toEqual(['b0', 'b1']);
    expect(await receive(queueUrl)).toEqual([]);

    const deleted = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(first) }));
    expect(deleted.Successful).toHaveLength(10);
    expect(bodies(await receive(queueUrl, { VisibilityTimeout: 1 }))).toEqual(range(10, 20));
    expect(await receiveStats(queueUrl)).toMatchObject({ largestGroupBatch: 10, messagesReceived: 22 });
  });

  it('hands a message whose visibility ran out back first, with its receive count raised', async () => {
    const { queueUrl } = await createQueuePair(sqs, { visibilityTimeoutSeconds: 30 });
    await sendToGroup(sqs, queueUrl, 'a', 12);
    expect(bodies(await receive(queueUrl, { VisibilityTimeout: 1 }))).toEqual(range(0, 10));

    // A long poll wakes when the visibility timeout ends.
    const started = Date.now();
    const again = await receive(queueUrl, { WaitTimeSeconds: 5 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(bodies(again)).toEqual(range(0, 10));
    expect(again.map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(Array(10).fill('2'));
  });

  it('changes visibility: the group stays locked until every message of it is visible again', async () => {
    const { queueUrl } = await createQueuePair(sqs, { visibilityTimeoutSeconds: 30 });
    await sendToGroup(sqs, queueUrl, 'a', 5);
    const received = await receive(queueUrl);
    const [head, ...rest] = received;
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: head.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    expect(await receive(queueUrl)).toEqual([]);

    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries(rest, { VisibilityTimeout: 0 }) }),
    );
    const again = await receive(queueUrl);
    expect(bodies(again)).toEqual(range(0, 5));
    // The earlier receipt handles expired with that receive.
    await expect(
      sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: head.ReceiptHandle })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('moves a message received maxReceiveCount times to the dead-letter queue at the next receive', async () => {
    const queues = await createQueuePair(sqs, { visibilityTimeoutSeconds: 30, maxReceiveCount: 2 });
    await sendToGroup(sqs, queues.queueUrl, 'a', 2);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [head] = await receive(queues.queueUrl, { MaxNumberOfMessages: 1 });
      expect(head.Body).toBe('m0');
      const release = { QueueUrl: queues.queueUrl, ReceiptHandle: head.ReceiptHandle, VisibilityTimeout: 0 };
      await sqs.send(new ChangeMessageVisibilityCommand(release));
    }
    expect(bodies(await receive(queues.queueUrl))).toEqual(['m1']);
    const [dead] = await drainMessages(sqs, queues.dlqUrl, 1);
    expect(dead.Body).toBe('m0');
    expect(dead.Attributes?.MessageGroupId).toBe('a');
  });

  it('deduplicates a MessageDeduplicationId sent again within five minutes', async () => {
    const { queueUrl } = await createQueuePair(sqs);
    const send = () =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: 'once',
          MessageGroupId: 'a',
          MessageDeduplicationId: 'same',
        }),
      );
    const [first, repeat] = [await send(), await send()];
    expect(repeat.MessageId).toBe(first.MessageId);
    expect(repeat.SequenceNumber).toBe(first.SequenceNumber);
    expect(await queueDepth(sqs, queueUrl)).toBe(1);
  });

  it('raises the SDK exceptions SQS would', async () => {
    const missingQueue = sqs.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue.fifo' }));
    await expect(missingQueue).rejects.toBeInstanceOf(QueueDoesNotExist);
    const { queueUrl } = await createQueuePair(sqs);
    const unknownHandle = sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: 'never-issued' }));
    await expect(unknownHandle).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);
    const withoutGroup = sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x', MessageDeduplicationId: 'x' }),
    );
    await expect(withoutGroup).rejects.toMatchObject({ name: 'MissingParameter' });
  });
});

describe('fauxqs, the default test SQS', () => {
  it('hands out only one message per FIFO group per receive, which is why the batching test SQS exists', async () => {
    const sqs = testSqsClient();
    try {
      const { queueUrl } = await createQueuePair(sqs);
      await sendToGroup(sqs, queueUrl, 'a', 3);
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      expect(bodies(received.Messages)).toEqual(['m0']);
    } finally {
      sqs.destroy();
    }
  });
});
