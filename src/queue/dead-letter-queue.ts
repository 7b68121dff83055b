import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  ATTRIBUTE,
  attribute,
  deadLetterAttributes,
  deadLetterOriginOf,
  MessageOrigin,
  originAttributes,
  textAttribute,
} from './message-origin';

export const DEAD_LETTER_SQS_CLIENT = Symbol('DEAD_LETTER_SQS_CLIENT');

/** The code of a dead letter that SQS moved by itself (maxReceiveCount), without a reason from the worker. */
export const MOVED_BY_SQS = 'MOVED_BY_SQS';

/** Client errors that only mean "not now". */
const THROTTLED = new Set(['ThrottlingException', 'RequestThrottled', 'KmsThrottled', 'OverLimit']);

/** A message received from the dead-letter queue, with what it carries about its origin and its failure. */
export interface DeadLetterMessage {
  /** This copy's SQS id and receipt, to delete it or let it go. */
  sqsMessageId: string;
  receiptHandle: string;
  body: string;
  /** `sentAt` is null for a message SQS moved here itself: SQS reset it, and the first send time is unknown. */
  origin: MessageOrigin & { groupId: string };
  errorCode: string;
  errorMessage: string;
  /** Unix ms; for a message SQS moved, when the service found it. */
  deadLetteredAt: number;
  receiveCount: number;
  /**
   * Alone in a group named after its message id, as the worker moves messages. A message SQS moved keeps its
   * ingest group, and hides the later ones of that group from every receive until it is deleted.
   */
  alone: boolean;
}

/** What a walk's visitor did with a message: keep it in hand, let it go at the end of the walk, or deleted it. */
export type WalkDecision = 'hold' | 'release' | 'gone';

export interface WalkResult {
  /** The messages the visitor holds: still invisible to others; the caller deletes them or lets them go. */
  held: DeadLetterMessage[];
  /**
   * The walk received every message the queue holds; false when it stopped at its deadline or when messages were
   * in flight elsewhere (what a crashed walk held comes back when its visibility timeout ends).
   */
  complete: boolean;
}

/**
 * How long the messages of a walk stay invisible: longer than a walk receives (DeadLetterWalks stops it after 20 s)
 * plus the sends of a redrive chunk, and short enough that what a crashed walk held comes back soon.
 */
const WALK_VISIBILITY_SECONDS = 60;
/** Messages a walk receives beyond the queue's depth at its start before it stops (incomplete). */
const WALK_SLACK = 100;

/**
 * The dead-letter queue as the service reads it. A FIFO queue cannot be listed: a receive hands out only the first
 * message of each group, and nothing more of that group while it is in flight. So a walk receives every message,
 * keeping each in flight until the walk ends, and the service keeps every dead letter alone in a group of its own
 * (isolate) so that none hides another.
 */
@Injectable()
export class DeadLetterQueue implements OnApplicationShutdown {
  constructor(
    @Inject(DEAD_LETTER_SQS_CLIENT) private readonly sqs: SQSClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Receives every message of the queue once and hands each to `visit`. Messages the visitor releases become
   * visible again when the walk ends; those it holds are returned. Callers serialise walks (a lease): two walks at
   * once would each see only part of the queue.
   */
  async walk(
    visit: (message: DeadLetterMessage) => Promise<WalkDecision>,
    deadline: number,
    /** Stops the walk early (incomplete) once the caller has what it came for. */
    enough: () => boolean = () => false,
  ): Promise<WalkResult> {
    const seen = new Map<string, DeadLetterMessage>();
    const released: DeadLetterMessage[] = [];
    const held: DeadLetterMessage[] = [];
    let complete = false;
    let gone = 0;
    // Messages that arrive during the walk are received too; a walk does not chase a steady stream of them (it
    // would hold each new one until its end): past what the queue held at its start, plus some, it stops.
    const budget = (await this.depth()) + WALK_SLACK;
    try {
      while (Date.now() < deadline && !enough() && seen.size <= budget) {
        let received = await this.receive(0);
        // A short poll may miss messages on a busy SQS; only a long poll that finds nothing means the queue is done.
        if (received.length === 0) received = await this.receive(1);
        if (received.length === 0) {
          // Messages in flight elsewhere (a crashed walk's, until their visibility ends) were not seen: the walk
          // is complete only when every message the queue holds is one this walk has in hand.
          complete = (await this.depth()) <= seen.size - gone;
          break;
        }
        for (const raw of received) {
          const message = deadLetterOf(raw);
          const earlier = seen.get(message.sqsMessageId);
          if (earlier !== undefined) {
            // Received again: its first receipt outlived the visibility timeout; the new receipt replaces it.
            earlier.receiptHandle = message.receiptHandle;
            continue;
          }
          seen.set(message.sqsMessageId, message);
          const decision = await visit(message);
          if (decision === 'hold') {
            held.push(message);
            continue;
          }
          // Kept until the walk ends for its receipt only: without its body (up to MAX_MESSAGE_BYTES), a walk over
          // thousands of dead letters holds kilobytes each, not the queue's whole content, in a process that may
          // run under a small heap limit (docs/operations.md).
          message.body = '';
          if (decision === 'release') released.push(message);
          else gone++;
        }
      }
    } catch (error) {
      // Nothing stays invisible because a visitor failed: what it held goes back with the rest.
      await this.release([...released, ...held]).catch(() => undefined);
      throw error;
    }
    await this.release(released);
    return { held, complete };
  }

  /**
   * Puts a message SQS moved (in its ingest group) alone in a group of its own, with its origin and reason as
   * attributes, then deletes the original: a crash in between leaves two copies of one message id, which the
   * index and redrive treat as one.
   */
  async isolate(message: DeadLetterMessage): Promise<void> {
    await this.call(() =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.config.sqs.dlqUrl,
          MessageBody: message.body,
          MessageGroupId: message.origin.messageId,
          MessageDeduplicationId: `isolated-${message.sqsMessageId}`,
          MessageAttributes: deadLetterAttributes(message.origin, message),
        }),
      ),
    );
    await this.delete([message]);
  }

  /**
   * Sends a dead letter back to the ingest queue, in its ingest group, carrying its origin so that the worker
   * applies it under its first id and send time. Deduplicated per job and dead-letter copy: sent again by the same
   * job (a crash between this and the delete), SQS drops the second send within its five-minute window, and after
   * it the worker finds the data applied already (the same datum). A message dead-lettered again after a redrive is
   * a new copy, so a later redrive of it is never taken for a duplicate.
   */
  async redrive(message: DeadLetterMessage, jobId: string): Promise<void> {
    await this.call(() =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.config.sqs.queueUrl,
          MessageBody: message.body,
          MessageGroupId: message.origin.groupId,
          MessageDeduplicationId: createHash('sha256').update(`${jobId}\n${message.sqsMessageId}`).digest('hex'),
          MessageAttributes: {
            ...originAttributes(message.origin),
            [ATTRIBUTE.redriveJobId]: textAttribute(jobId),
          },
        }),
      ),
    );
  }

  async delete(messages: DeadLetterMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      const result = await this.call(() =>
        this.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.config.sqs.dlqUrl,
            Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.receiptHandle })),
          }),
        ),
      );
      const failed = result.Failed ?? [];
      if (failed.length > 0) {
        throw new DependencyUnavailableError('SQS', new Error(`could not delete dead letters: ${failed[0].Message}`));
      }
    }
  }

  /** Makes messages in hand visible again at once. */
  async release(messages: DeadLetterMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += 10) {
      const chunk = messages.slice(start, start + 10);
      await this.call(() =>
        this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.config.sqs.dlqUrl,
            Entries: chunk.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.receiptHandle,
              VisibilityTimeout: 0,
            })),
          }),
        ),
      );
    }
  }

  /** Messages in the queue, in flight or not (SQS's approximate counts). */
  async depth(): Promise<number> {
    const { Attributes } = await this.call(() =>
      this.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.config.sqs.dlqUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      ),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
    );
  }

  private async receive(waitSeconds: number): Promise<Message[]> {
    const { Messages } = await this.call(() =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.config.sqs.dlqUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: WALK_VISIBILITY_SECONDS,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['MessageGroupId', 'SentTimestamp', 'SequenceNumber', 'ApproximateReceiveCount'],
          MessageAttributeNames: ['All'],
        }),
      ),
    );
    return Messages ?? [];
  }

  /**
   * SQS refusing a request for what it is (a 4xx: a message too large once its attributes are added, a bad receipt)
   * fails as it is; anything else means SQS is away for now (DependencyUnavailableError: 503, or a job resumed later).
   */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof SQSServiceException && error.$fault === 'client' && !THROTTLED.has(error.name)) {
        throw new Error(`SQS refused: ${error.name}: ${error.message}`, { cause: error });
      }
      throw new DependencyUnavailableError('SQS', error);
    }
  }

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}

/** Reads a received dead letter: what the worker wrote on it, or for a message SQS moved, what SQS kept. */
export function deadLetterOf(message: Message, now = Date.now()): DeadLetterMessage {
  const origin = deadLetterOriginOf(message);
  const receiveCount = Number(
    attribute(message, ATTRIBUTE.receiveCount) ?? message.Attributes?.ApproximateReceiveCount ?? 0,
  );
  const errorCode = attribute(message, ATTRIBUTE.errorCode) ?? MOVED_BY_SQS;
  const deadLetteredAt = Number(attribute(message, ATTRIBUTE.deadLetteredAt));
  return {
    sqsMessageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    origin: { ...origin, groupId: origin.groupId ?? '' },
    errorCode,
    errorMessage:
      attribute(message, ATTRIBUTE.errorMessage) ??
      `SQS moved the message to the dead-letter queue after ${receiveCount} receives (the ingest queue's ` +
        'maxReceiveCount) before the worker decided about it',
    deadLetteredAt: Number.isFinite(deadLetteredAt) && deadLetteredAt > 0 ? deadLetteredAt : now,
    receiveCount: Number.isFinite(receiveCount) ? receiveCount : 0,
    alone: message.Attributes?.MessageGroupId === origin.messageId,
  };
}
