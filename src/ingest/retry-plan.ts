import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { QueueMessage } from '../queue/sqs-types';
import { passingReplyCode } from '../store/redis-errors';
import { DeadLetter, Failure, Settled, Verdict } from './ingest-batch';

/** A message that was neither applied nor dead-lettered: it failed, or was held back behind a failure. */
export interface Unsettled extends Settled {
  verdict: Extract<Verdict, { kind: 'retry' | 'held-back' }>;
}

export function isUnsettled(settled: Settled): settled is Unsettled {
  return settled.verdict.kind === 'retry' || settled.verdict.kind === 'held-back';
}

/** What to do with the unsettled messages of a batch. */
export interface RetryPlan {
  /** Passing failures: kept in hand (visibility extended) and retried in process once Redis accepts writes. */
  hold: Unsettled[];
  /** At their last allowed receive: moved to the dead-letter queue by the worker, with the reason. */
  exhausted: DeadLetter[];
  /** Left to SQS, which makes them visible again after the visibility timeout. */
  redeliver: QueueMessage[];
}

/**
 * Sorts a batch's unsettled messages. A passing failure costs no receive while the worker holds the message, so
 * it is held; any other failure goes back to SQS for another receive, unless this was the last receive the queue's
 * redrive policy allows: then SQS would move it to the dead-letter queue without a reason, so the worker does it.
 */
export function planRetries(unsettled: Unsettled[], maxReceiveCount: number | null): RetryPlan {
  const hold = unsettled.filter(({ verdict }) => verdict.passingReason !== null);
  const leaving = planLeaving(
    unsettled.filter(({ verdict }) => verdict.passingReason === null),
    maxReceiveCount,
  );
  return { hold, ...leaving };
}

/** Sorts messages the worker lets go of (non-passing failures, or all in hand at shutdown) by their receive count. */
export function planLeaving(unsettled: Unsettled[], maxReceiveCount: number | null): Omit<RetryPlan, 'hold'> {
  const exhausted: DeadLetter[] = [];
  const redeliver: QueueMessage[] = [];
  for (const { message, verdict } of unsettled) {
    if (atLastReceive(message, maxReceiveCount)) {
      exhausted.push({ message, code: 'RETRIES_EXHAUSTED', reason: failureText(message, verdict, maxReceiveCount) });
    } else {
      redeliver.push(message);
    }
  }
  return { exhausted, redeliver };
}

/** ApproximateReceiveCount, the receives so far including this one; 1 when SQS did not say. */
export function receiveCountOf(message: QueueMessage): number {
  const count = Number(message.Attributes?.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

export function atLastReceive(message: QueueMessage, maxReceiveCount: number | null): boolean {
  return maxReceiveCount !== null && receiveCountOf(message) >= maxReceiveCount;
}

/** The dead letter's errorMessage: the last error, and for a held-back message which earlier message blocked it. */
export function failureText(
  message: QueueMessage,
  verdict: Unsettled['verdict'],
  maxReceiveCount: number | null,
): string {
  const receives = `receive ${receiveCountOf(message)} of ${maxReceiveCount ?? 'unlimited'}`;
  if (verdict.kind === 'retry') return `${receives}: ${verdict.error}`;
  return `${receives}: held back behind message ${verdict.blockedBy} of its group, which failed: ${verdict.error}`;
}

/**
 * Sorts a failed write: a DependencyUnavailableError (Redis unreachable, a timeout, OOM, READONLY, ...) is passing,
 * with a short reason for logs, metrics and /health/ready; anything else is not.
 */
export function failureOf(error: unknown): Failure {
  const message = error instanceof Error ? error.message : String(error);
  if (!(error instanceof DependencyUnavailableError)) return { error: message, passingReason: null };
  return { error: message, passingReason: passingReasonOf(error.cause) };
}

/** The reply code of a refused write (OOM, READONLY, ...), `timeout` for an unanswered command, else `unreachable`. */
export function passingReasonOf(cause: unknown): string {
  if (!(cause instanceof Error)) return 'unreachable';
  if (cause instanceof DependencyUnavailableError) return passingReasonOf(cause.cause);
  const code = passingReplyCode(cause);
  if (code !== null) return code;
  return /timed out|no answer within/i.test(cause.message) ? 'timeout' : 'unreachable';
}
