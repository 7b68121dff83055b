import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  Message,
  MessageAttributeValue,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const INGEST_SQS_CLIENT = Symbol('INGEST_SQS_CLIENT');

/** A message to move to the dead-letter queue, with the code and reason it carries there as message attributes. */
export interface DeadLetterMove {
  message: Message;
  code: string;
  reason: string;
}

/** SQS caps a message attribute's value with the message; a reason this long is plenty to act on. */
const MAX_REASON_CHARS = 1024;
/** How long the redrive policy's maxReceiveCount is trusted before it is read again (an operator may change it). */
const RECEIVE_LIMIT_REFRESH_MS = 5 * 60_000;
/** After a failed read of the redrive policy, the next one is tried this much sooner. */
const RECEIVE_LIMIT_RETRY_MS = 10_000;

/**
 * The worker's side of SQS besides receiving: deleting handled messages, moving bad ones to the DLQ, extending
 * the visibility of messages in hand, and reading the redrive policy's receive limit. It also closes the worker's
 * SQS client at shutdown, after IngestConsumer has drained (beforeApplicationShutdown).
 */
@Injectable()
export class IngestQueue implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(IngestQueue.name);
  private receiveLimit: Promise<number | null> | null = null;
  private receiveLimitReadAt = 0;

  constructor(
    @Inject(INGEST_SQS_CLIENT) private readonly sqs: SQSClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Deletes handled messages, ten per call. A message whose delete fails is redelivered and replayed harmlessly. */
  async acknowledge(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      const result = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.config.sqs.queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      for (const failure of result.Failed ?? []) {
        this.logger.warn(`could not delete message ${chunk[Number(failure.Id)].MessageId}: ${failure.Message}`);
      }
    }
  }

  /**
   * Copies each message to the dead-letter queue with its reason and returns those that arrived there; only they
   * may be deleted from the ingest queue. Sent one by one: a batch of large bodies would exceed SQS's batch limit.
   * The DLQ is FIFO: the copy keeps its group and is deduplicated on the original message id.
   */
  async deadLetter(letters: DeadLetterMove[]): Promise<Message[]> {
    const moved = await Promise.all(
      letters.map(async ({ message, code, reason }) => {
        try {
          await this.sqs.send(
            new SendMessageCommand({
              QueueUrl: this.config.sqs.dlqUrl,
              MessageBody: message.Body ?? '',
              MessageGroupId: message.Attributes?.MessageGroupId ?? 'ungrouped',
              MessageDeduplicationId: message.MessageId,
              MessageAttributes: {
                errorCode: text(code),
                errorMessage: text(reason.slice(0, MAX_REASON_CHARS)),
                originalMessageId: text(message.MessageId ?? ''),
              },
            }),
          );
          this.logger.warn(`message ${message.MessageId} moved to the dead-letter queue: ${code}: ${reason}`);
          return message;
        } catch (error) {
          this.logger.error(
            `message ${message.MessageId} (${code}) could not be moved to the dead-letter queue, left for ` +
              `redelivery: ${(error as Error).message}`,
          );
          return null;
        }
      }),
    );
    return moved.filter((message): message is Message => message !== null);
  }

  /**
   * Sets the visibility timeout of messages in hand, ten per call; returns those SQS refused (a message already
   * deleted, or visible again after an extension came too late). Never throws: a failed call refuses them all.
   */
  async changeVisibility(messages: Message[], seconds: number): Promise<Message[]> {
    const refused: Message[] = [];
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      try {
        const result = await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.config.sqs.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
        );
        for (const failure of result.Failed ?? []) refused.push(chunk[Number(failure.Id)]);
      } catch (error) {
        this.logger.warn(`could not change the visibility of ${chunk.length} message(s): ${(error as Error).message}`);
        refused.push(...chunk);
      }
    }
    return refused;
  }

  /**
   * The ingest queue's maxReceiveCount (its redrive policy), or null when it has none. Read at start and again
   * every few minutes; while SQS cannot be asked, the last known value stands.
   */
  maxReceiveCount(): Promise<number | null> {
    if (this.receiveLimit === null || Date.now() - this.receiveLimitReadAt > RECEIVE_LIMIT_REFRESH_MS) {
      const previous = this.receiveLimit ?? Promise.resolve(null);
      this.receiveLimitReadAt = Date.now();
      this.receiveLimit = previous.then((known) => this.readMaxReceiveCount(known));
    }
    return this.receiveLimit;
  }

  onModuleInit(): void {
    void this.maxReceiveCount();
  }

  private async readMaxReceiveCount(known: number | null): Promise<number | null> {
    try {
      const { Attributes } = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: this.config.sqs.queueUrl, AttributeNames: ['RedrivePolicy'] }),
      );
      return maxReceiveCountOf(Attributes?.RedrivePolicy);
    } catch (error) {
      this.logger.warn(
        `could not read the ingest queue's redrive policy, keeping ${known ?? 'no limit'}: ${(error as Error).message}`,
      );
      this.receiveLimitReadAt = Date.now() - RECEIVE_LIMIT_REFRESH_MS + RECEIVE_LIMIT_RETRY_MS;
      return known;
    }
  }

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}

/** maxReceiveCount of a queue's RedrivePolicy attribute (JSON); null when there is none (no limit). */
export function maxReceiveCountOf(redrivePolicy: string | undefined): number | null {
  if (!redrivePolicy) return null;
  const parsed: unknown = JSON.parse(redrivePolicy);
  const value = Number((parsed as { maxReceiveCount?: unknown } | null)?.maxReceiveCount);
  return Number.isInteger(value) && value > 0 ? value : null;
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}
