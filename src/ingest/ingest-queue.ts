import {
  DeleteMessageBatchCommand,
  Message,
  MessageAttributeValue,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DeadLetterCode } from './ingest-batch';

export const INGEST_SQS_CLIENT = Symbol('INGEST_SQS_CLIENT');

/** SQS caps a message attribute's value with the message; a reason this long is plenty to act on. */
const MAX_REASON_CHARS = 1024;

export interface DeadLetter {
  message: Message;
  code: DeadLetterCode;
  reason: string;
}

/**
 * The worker's side of SQS besides receiving: deleting handled messages and moving bad ones to the DLQ. It also
 * closes the worker's SQS client at shutdown, after IngestConsumer has drained (beforeApplicationShutdown).
 */
@Injectable()
export class IngestQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(IngestQueue.name);

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
  async deadLetter(letters: DeadLetter[]): Promise<Message[]> {
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

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}
