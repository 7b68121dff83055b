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
