import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';

export function sqsEndpoint(): string {
  const endpoint = process.env.TEST_SQS_ENDPOINT;
  if (!endpoint) throw new Error('TEST_SQS_ENDPOINT is not set: run e2e suites through jest (globalSetup starts fauxqs)');
  return endpoint;
}

export function testSqsClient(): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint: sqsEndpoint(),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

export interface QueuePair {
  queueUrl: string;
  dlqUrl: string;
}

/** A fresh FIFO ingest queue and its FIFO dead-letter queue with a redrive policy, private to one suite. */
export async function createQueuePair(
  sqs: SQSClient,
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<QueuePair> {
  const name = `t-${randomUUID().slice(0, 8)}`;
  const dlq = await sqs.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 2),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes.Attributes?.QueueArn,
          maxReceiveCount: String(options.maxReceiveCount ?? 100),
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl: dlq.QueueUrl ?? '' };
}

/** Sends a raw body straight to the queue, bypassing the gateway (as a misbehaving producer could). */
export async function sendRaw(sqs: SQSClient, queueUrl: string, body: string, groupId: string): Promise<string> {
  const sent = await sqs.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: groupId, MessageDeduplicationId: randomUUID() }),
  );
  return sent.MessageId ?? '';
}

/**
 * Takes `count` messages off a queue (deleting each, since a FIFO queue hands out one message per group at a
 * time), or fails after `timeoutMs`.
 */
export async function drainMessages(sqs: SQSClient, queueUrl: string, count: number, timeoutMs = 15_000): Promise<Message[]> {
  const found: Message[] = [];
  const deadline = Date.now() + timeoutMs;
  while (found.length < count && Date.now() < deadline) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    for (const message of received.Messages ?? []) {
      found.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  if (found.length < count) throw new Error(`expected ${count} message(s) on ${queueUrl}, got ${found.length}`);
  return found;
}

/** Messages waiting or in flight on a queue, as SQS reports them. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}
