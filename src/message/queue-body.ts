import { createHash } from 'node:crypto';
import { RecordMessage } from './record-message.validation';

/**
 * The SQS body for a validated message. JSON.stringify already escapes control characters and lone surrogates;
 * U+FFFE and U+FFFF are the only characters it leaves that SQS refuses, so they are escaped too (the JSON value
 * is unchanged).
 */
export function toQueueBody(message: RecordMessage): string {
  const ordered = {
    op: message.op,
    accountId: message.accountId,
    flowId: message.flowId,
    webhookKeys: message.webhookKeys,
    ...(message.data !== undefined && { data: message.data }),
    ...(message.version !== undefined && { version: message.version }),
  };
  return JSON.stringify(ordered).replace(/[\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);
}

/** SQS FIFO ordering scope: every message of one (account, flow) is applied in order. */
export function messageGroupId(message: Pick<RecordMessage, 'accountId' | 'flowId'>): string {
  return `${message.accountId}:${message.flowId}`;
}

/**
 * The FIFO MessageDeduplicationId for a producer's Idempotency-Key, scoped to the message group: SQS deduplicates
 * across the whole queue unless the queue says `DeduplicationScope: messageGroup` (fauxqs ignores that attribute),
 * and one account's key must never suppress another account's message. 64 hex characters, within the SQS limit.
 */
export function deduplicationId(groupId: string, idempotencyKey: string): string {
  return createHash('sha256').update(groupId).update('\n').update(idempotencyKey).digest('hex');
}
