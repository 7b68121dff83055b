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
import type { ReceiveStats } from './fifo-sqs-queue';

/** Which of the two local SQS servers that globalSetup starts a suite talks to. */
export interface SqsChoice {
  /**
   * The test SQS of fifo-sqs-server.ts, which hands out up to ten messages of a FIFO group per receive as SQS
   * does, instead of fauxqs, which hands out one: for suites that judge the order in which groups are applied.
   */
  batchingFifo?: boolean;
}

export function sqsEndpoint({ batchingFifo = false }: SqsChoice = {}): string {
  const variable = batchingFifo ? 'TEST_FIFO_SQS_ENDPOINT' : 'TEST_SQS_ENDPOINT';
  const endpoint = process.env[variable];
  if (!endpoint)
    throw new Error(`${variable} is not set: run e2e suites through jest (globalSetup starts the SQS servers)`);
  return endpoint;
}

export function testSqsClient(choice: SqsChoice = {}): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint: sqsEndpoint(choice),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

export interface QueuePair {
  /** The SQS that holds both queues: the service under test is pointed at it. */
  endpoint: string;
  queueUrl: string;
  dlqUrl: string;
}

export interface QueueOptions {
  /** 2 s unless given. */
  visibilityTimeoutSeconds?: number;
  /** Receives before SQS moves a message to the dead-letter queue; 100 unless given. */
  maxReceiveCount?: number;
}

/** A fresh FIFO ingest queue and its FIFO dead-letter queue with a redrive policy, private to one suite. */
export async function createQueuePair(sqs: SQSClient, options: QueueOptions = {}): Promise<QueuePair> {
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
  return { endpoint: await endpointOf(sqs), queueUrl: queue.QueueUrl ?? '', dlqUrl: dlq.QueueUrl ?? '' };
}

async function endpointOf(sqs: SQSClient): Promise<string> {
  const endpoint = await sqs.config.endpoint?.();
  if (!endpoint) throw new Error('the SQS client has no explicit endpoint');
  return `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}`;
}

/** How the batching FIFO test SQS has handed out a queue's messages so far (see SqsChoice). */
export async function receiveStats(queueUrl: string): Promise<ReceiveStats> {
  const url = new URL(queueUrl);
  const response = await fetch(`${url.origin}/stats/${url.pathname.split('/').pop()}`);
  if (!response.ok) throw new Error(`no receive stats for ${queueUrl}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ReceiveStats;
}

/** Sends a raw body straight to the queue, bypassing the gateway (as a misbehaving producer could). */
export async function sendRaw(sqs: SQSClient, queueUrl: string, body: string, groupId: string): Promise<string> {
  const sent = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: groupId,
      MessageDeduplicationId: randomUUID(),
    }),
  );
  return sent.MessageId ?? '';
}

/**
 * Takes `count` messages off a queue, or fails after `timeoutMs`. Each is deleted once received: a FIFO queue
 * hands out nothing more of a group while a message of it is in flight.
 */
export async function drainMessages(
  sqs: SQSClient,
  queueUrl: string,
  count: number,
  timeoutMs = 15_000,
): Promise<Message[]> {
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
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}
