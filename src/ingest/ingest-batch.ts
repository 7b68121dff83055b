import { QueueMessage } from '../queue/sqs-types';

export type DeadLetterCode =
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_JSON'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_GROUP_MISMATCH'
  | 'KEY_OWNED_BY_OTHER_ACCOUNT'
  /** Failed (or was held back behind a failure) at the last receive the queue's redrive policy allows. */
  | 'RETRIES_EXHAUSTED';

/** A failure worth another attempt. */
export interface Failure {
  error: string;
  /**
   * For a passing failure (Redis refuses writes for now), why: OOM, READONLY, LOADING, timeout, unreachable, ...;
   * null for any other failure (a script bug, a wrong type), which another attempt may or may not cure.
   */
  passingReason: string | null;
}

/** What a message did to its keys, key by key (a replay of a key counts as applied). */
export interface KeyCounts {
  applied: number;
  stale: number;
  foreign: number;
}

/** What became of one message. */
export type Verdict =
  /** `statusRecorded`: the message's status is stored already (sent with its journal entry). */
  | { kind: 'done'; keys: KeyCounts; statusRecorded?: boolean }
  | { kind: 'dead-letter'; code: DeadLetterCode; reason: string; keys?: KeyCounts }
  | ({ kind: 'retry' } & Failure)
  /** Not attempted: `blockedBy`, an earlier message of its group, failed with this failure and comes first. */
  | ({ kind: 'held-back'; blockedBy: string } & Failure);

export interface Settled {
  message: QueueMessage;
  verdict: Verdict;
}

export interface DeadLetter {
  message: QueueMessage;
  code: DeadLetterCode;
  reason: string;
  keys?: KeyCounts;
}

/**
 * Splits a received batch into its FIFO groups, each in the order SQS delivered it. Real SQS may deliver several
 * messages of one group in a batch; they must be applied one after another, never concurrently.
 */
export function groupInReceiveOrder(messages: QueueMessage[]): QueueMessage[][] {
  const groups = new Map<string, QueueMessage[]>();
  const ungrouped: QueueMessage[][] = [];
  for (const message of messages) {
    const groupId = message.Attributes?.MessageGroupId;
    if (groupId === undefined) {
      ungrouped.push([message]);
      continue;
    }
    const group = groups.get(groupId);
    if (group) group.push(message);
    else groups.set(groupId, [message]);
  }
  return [...groups.values(), ...ungrouped];
}

/**
 * Handles the messages of one group in order. Once one must be retried, the later ones are held back (neither
 * applied nor deleted) so that SQS redelivers them after it, in order.
 */
export async function settleInOrder(
  group: QueueMessage[],
  handle: (message: QueueMessage) => Promise<Verdict>,
): Promise<Settled[]> {
  const settled: Settled[] = [];
  let blocker: Extract<Verdict, { kind: 'held-back' }> | null = null;
  for (const message of group) {
    const verdict: Verdict = blocker ?? (await handle(message));
    if (verdict.kind === 'retry') {
      blocker = {
        kind: 'held-back',
        blockedBy: message.MessageId ?? '?',
        error: verdict.error,
        passingReason: verdict.passingReason,
      };
    }
    settled.push({ message, verdict });
  }
  return settled;
}
