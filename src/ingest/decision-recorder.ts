import { Injectable, Logger } from '@nestjs/common';
import { subjectOfGroup } from '../message/queue-body';
import { MetricsService } from '../metrics/metrics.service';
import { MessageOrigin, originOf } from '../queue/message-origin';
import { DeadLetterEntry, DeadLetterIndex } from '../store/dead-letter-index';
import { MessageStatus, MessageStatusStore } from '../store/message-status-store';
import { QueueMessage } from '../queue/sqs-types';
import { DeadLetter, KeyCounts, Settled } from './ingest-batch';

const NO_KEYS: KeyCounts = { applied: 0, stale: 0, foreign: 0 };

/**
 * Writes down what the worker decided, for producers (message status) and operators (the dead-letter index), in
 * one round trip per batch; the status of a message that wrote keys goes earlier, with its journal entry
 * (recordApplied), and the batch's round trip then carries only the rest (stale-only messages, dead letters). Never fails the batch: the data is stored and the dead letter is in the DLQ whatever
 * happens here, so a write Redis refuses is logged and counted, and the dead-letter sweep indexes the DLQ again.
 */
@Injectable()
export class DecisionRecorder {
  private readonly logger = new Logger(DecisionRecorder.name);

  constructor(
    private readonly statuses: MessageStatusStore,
    private readonly deadLetters: DeadLetterIndex,
    private readonly metrics: MetricsService,
  ) {}

  /**
   * Stores the status of a message whose keys are written, in the round trip of its journal entry (IngestService,
   * through RecordStore's alongsideJournal) rather than in a round trip of its own at the end of the batch. Answers
   * whether it is stored; never rejects: a status not stored here is written by `record` with the batch.
   */
  async recordApplied(message: QueueMessage, keys: KeyCounts): Promise<boolean> {
    const status = statusOf(originOf(message), Date.now(), keys);
    if (status === null) return true;
    return this.statuses.save([{ ...status, status: 'applied' }]).then(
      () => true,
      () => false,
    );
  }

  async record(applied: Settled[], moved: DeadLetter[]): Promise<void> {
    if (applied.length === 0 && moved.length === 0) return;
    const decidedAt = Date.now();
    const statuses: MessageStatus[] = [];
    for (const { message, verdict } of applied) {
      if (verdict.kind === 'done' && verdict.statusRecorded === true) continue;
      const status = statusOf(originOf(message), decidedAt, verdict.kind === 'done' ? verdict.keys : NO_KEYS);
      if (status !== null) statuses.push({ ...status, status: 'applied' });
    }
    const entries: DeadLetterEntry[] = [];
    for (const letter of moved) {
      const origin = originOf(letter.message);
      const status = statusOf(origin, decidedAt, letter.keys ?? NO_KEYS);
      if (status !== null) {
        statuses.push({ ...status, status: 'dead-lettered', errorCode: letter.code, errorMessage: letter.reason });
      }
      entries.push(entryOf(letter, origin, decidedAt));
    }
    const results = await Promise.allSettled([this.statuses.save(statuses), this.deadLetters.add(entries)]);
    const failure = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) {
      this.metrics.decisionsUnrecorded.inc(statuses.length);
      this.logger.warn(
        `could not record the status of ${statuses.length} message(s) and index ${entries.length} dead letter(s) ` +
          `(the dead-letter sweep indexes the DLQ again): ${(failure.reason as Error).message}`,
      );
    }
  }
}

/** A status without its verdict, or null for a message whose account is unknown (no one could ask for it). */
function statusOf(origin: MessageOrigin, decidedAt: number, keys: KeyCounts): Omit<MessageStatus, 'status'> | null {
  const subject = subjectOfGroup(origin.groupId);
  if (subject === null) return null;
  return { messageId: origin.messageId, ...subject, decidedAt: new Date(decidedAt).toISOString(), keys };
}

function entryOf(letter: DeadLetter, origin: MessageOrigin, deadLetteredAt: number): DeadLetterEntry {
  const subject = subjectOfGroup(origin.groupId);
  return {
    messageId: origin.messageId,
    ...(subject ?? {}),
    groupId: origin.groupId ?? '',
    errorCode: letter.code,
    errorMessage: letter.reason,
    deadLetteredAt,
    receiveCount: Number(letter.message.Attributes?.ApproximateReceiveCount ?? 0),
    sentAt: origin.sentAt,
    ...(origin.sequenceNumber !== null && { sequenceNumber: origin.sequenceNumber }),
    body: letter.message.Body ?? '',
  };
}
