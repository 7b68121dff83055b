import { Message } from '@aws-sdk/client-sqs';

export type DeadLetterCode =
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_JSON'
  | 'INVALID_MESSAGE'
  | 'MESSAGE_GROUP_MISMATCH'
  | 'KEY_OWNED_BY_OTHER_ACCOUNT';

/** What became of one message. */
export type Verdict =
  | { kind: 'done' }
  | { kind: 'dead-letter'; code: DeadLetterCode; reason: string }
  | { kind: 'retry'; error: string }
  /** Not attempted: an earlier message of its group must be retried first. */
  | { kind: 'held-back' };

export interface Settled {
  message: Message;
  verdict: Verdict;
}

/**
 * Splits a received batch into its FIFO groups, each in the order SQS delivered it. Real SQS may deliver several
 * messages of one group in a batch; they must be applied one after another, never concurrently.
 */
export function groupInReceiveOrder(messages: Message[]): Message[][] {
  const groups = new Map<string, Message[]>();
  const ungrouped: Message[][] = [];
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
export async function settleInOrder(group: Message[], handle: (message: Message) => Promise<Verdict>): Promise<Settled[]> {
  const settled: Settled[] = [];
  let blocked = false;
  for (const message of group) {
    const verdict: Verdict = blocked ? { kind: 'held-back' } : await handle(message);
    if (verdict.kind === 'retry') blocked = true;
    settled.push({ message, verdict });
  }
  return settled;
}
