import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  Message,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { deadLetterAttributes, originOf } from './message-origin';

export const INGEST_SQS_CLIENT = Symbol('INGEST_SQS_CLIENT');

/** A message to move to the dead-letter queue, with the code and reason it carries there as message attributes. */
export interface DeadLetterMove {
  message: Message;
  code: string;
  reason: string;
}

/** SQS caps a message attribute's value with the message; a reason this long is plenty to act on. */
const MAX_REASON_CHARS = 1024;
/**
 * SQS's limit on a message, body and attributes together. A dead letter carries the body unchanged, so its reason
 * is shortened to fit (a body at the limit leaves no room: the reason then goes in the worker's log only).
 */
const MAX_SQS_MESSAGE_BYTES = 262_144;
/** Room for the attribute names, types and the other attributes' values (ids, times, counts). */
const ATTRIBUTE_OVERHEAD_BYTES = 1024;
/** Deletes that SQS refuses for a passing reason are tried this many times before the message is left to SQS. */
const DELETE_ATTEMPTS = 3;
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

  /**
   * Deletes handled messages, ten per call. An entry SQS fails is tried again at once (while the message is still
   * in hand): a message left undeleted would be redelivered after later messages of its group were applied, and an
   * unversioned replay would then write older data over newer.
   */
  async acknowledge(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      let pending = messages.slice(start, start + 10);
      for (let attempt = 1; pending.length > 0; attempt++) {
        const chunk = pending;
        const result = await this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.config.sqs.queueUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        pending = (result.Failed ?? []).map((failure) => chunk[Number(failure.Id)]);
        if (pending.length > 0 && attempt >= DELETE_ATTEMPTS) {
          for (const failure of result.Failed ?? []) {
            this.logger.error(`could not delete message ${chunk[Number(failure.Id)].MessageId}: ${failure.Message}`);
          }
          return;
        }
      }
    }
  }

  /**
   * Copies each message to the dead-letter queue with its reason and origin, and returns those that arrived there;
   * only they may be deleted from the ingest queue. Sent one by one: a batch of large bodies would exceed SQS's
   * batch limit. The DLQ is FIFO; each copy is alone in a group named after its message id, so that no dead letter
   * ever hides another from a receive (docs/design.md, "Dead letters"), and is deduplicated on its SQS id.
   */
  async deadLetter(letters: DeadLetterMove[]): Promise<Message[]> {
    const moved = await Promise.all(
      letters.map(async ({ message, code, reason }) => {
        const origin = originOf(message);
        try {
          await this.sqs.send(
            new SendMessageCommand({
              QueueUrl: this.config.sqs.dlqUrl,
              MessageBody: message.Body ?? '',
              MessageGroupId: origin.messageId,
              MessageDeduplicationId: message.MessageId,
              MessageAttributes: deadLetterAttributes(origin, {
                errorCode: code,
                errorMessage: reasonThatFits(reason, message.Body ?? ''),
                deadLetteredAt: Date.now(),
                receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
              }),
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
  async changeVisibility(messages: Message[], seconds: number, timeoutMs: number): Promise<Message[]> {
    const refused: Message[] = [];
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      try {
        // An answer later than this is no use: the messages may be visible to others by then.
        const result = await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.config.sqs.queueUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
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
   * every few minutes in the background: a batch never waits on a refresh, only on the first read.
   */
  maxReceiveCount(): Promise<number | null> {
    if (this.receiveLimit === null) {
      this.receiveLimitReadAt = Date.now();
      this.receiveLimit = this.readMaxReceiveCount(null);
    } else if (Date.now() - this.receiveLimitReadAt > RECEIVE_LIMIT_REFRESH_MS) {
      this.receiveLimitReadAt = Date.now();
      const current = this.receiveLimit;
      const refreshed = current.then((known) => this.readMaxReceiveCount(known));
      void refreshed.then(() => {
        if (this.receiveLimit === current) this.receiveLimit = refreshed;
      });
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

/** The reason, shortened so that body and attributes stay within SQS's message limit. */
export function reasonThatFits(reason: string, body: string): string {
  const room = MAX_SQS_MESSAGE_BYTES - Buffer.byteLength(body) - ATTRIBUTE_OVERHEAD_BYTES;
  let fitted = reason.slice(0, Math.max(0, Math.min(MAX_REASON_CHARS, room)));
  while (Buffer.byteLength(fitted) > room && fitted.length > 0) fitted = fitted.slice(0, -1);
  return fitted;
}
