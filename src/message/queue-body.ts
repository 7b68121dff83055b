import { createHash } from 'node:crypto';
import { RecordMessage } from './record-message.validation';

/**
 * The SQS body for a validated message: its fields in a fixed order, and `data` as the producer wrote it. The only
 * change to `data` is that characters SQS refuses are written as JSON escapes (see sqsSafeJson). The other fields
 * are plain ASCII by the contract's rules, so JSON.stringify writes them as they came.
 */
export function toQueueBody(message: RecordMessage): string {
  const data = message.dataJson === undefined ? '' : `,"data":${sqsSafeJson(message.dataJson)}`;
  const version = message.version === undefined ? '' : `,"version":${message.version}`;
  return (
    `{"op":${JSON.stringify(message.op)},"accountId":${JSON.stringify(message.accountId)},` +
    `"flowId":${JSON.stringify(message.flowId)},"webhookKeys":${JSON.stringify(message.webhookKeys)}${data}${version}}`
  );
}

/**
 * Characters SQS refuses in a message body that valid JSON text may hold: U+FFFE, U+FFFF and surrogates that are
 * not part of a pair. (SQS takes #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF; JSON allows
 * no other control characters unescaped.) Outside strings JSON text is ASCII, so they can only be inside strings.
 */
const SQS_REFUSED = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Valid JSON text with every character SQS refuses written as the equivalent `\uXXXX` escape, which denotes the
 * same string: a raw character is never part of another escape, so replacing it leaves the rest of the text as it was.
 */
export function sqsSafeJson(json: string): string {
  return json.replace(SQS_REFUSED, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** SQS FIFO ordering scope: every message of one (account, flow) is applied in order. */
export function messageGroupId(message: Pick<RecordMessage, 'accountId' | 'flowId'>): string {
  return `${message.accountId}:${message.flowId}`;
}

/** The account and flow a MessageGroupId names, or null when it is not `accountId:flowId` (ids hold no colon). */
export function subjectOfGroup(groupId: string | null): { accountId: string; flowId: string } | null {
  const parts = groupId?.split(':') ?? [];
  return parts.length === 2 && parts[0] !== '' && parts[1] !== '' ? { accountId: parts[0], flowId: parts[1] } : null;
}

/**
 * The FIFO MessageDeduplicationId for a producer's Idempotency-Key, scoped to the message group: SQS deduplicates
 * across the whole queue unless the queue says `DeduplicationScope: messageGroup` (fauxqs ignores that attribute),
 * and one account's key must never suppress another account's message. 64 hex characters, within the SQS limit.
 */
export function deduplicationId(groupId: string, idempotencyKey: string): string {
  return createHash('sha256').update(groupId).update('\n').update(idempotencyKey).digest('hex');
}
