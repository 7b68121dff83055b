import { parseContractJson, withoutByteOrderMark } from '../common/json-body';
import { messageGroupId } from '../message/queue-body';
import { RecordMessage, validateRecordMessage } from '../message/record-message.validation';
import { QueueMessage } from '../queue/sqs-types';
import { DeadLetterCode } from './ingest-batch';

export type Decoded = { ok: true; message: RecordMessage } | { ok: false; code: DeadLetterCode; reason: string };

/**
 * Turns an SQS message into a validated RecordMessage, or into the reason it can never be applied. JSON is parsed
 * with the same rules (prototype poisoning, nesting depth, byte order mark) as the HTTP gateway, and validated by
 * the same function, so both accept the same bodies; `data` goes on as the body's text has it.
 */
export function decodeIngestMessage(message: QueueMessage, maxMessageBytes: number): Decoded {
  const body = message.Body ?? '';
  const size = Buffer.byteLength(body);
  if (size > maxMessageBytes) {
    return {
      ok: false,
      code: 'MESSAGE_TOO_LARGE',
      reason: `body is ${size} bytes, over MAX_MESSAGE_BYTES (${maxMessageBytes})`,
    };
  }
  const text = withoutByteOrderMark(body);
  let parsed: unknown;
  try {
    parsed = parseContractJson(text);
  } catch (error) {
    // The parser quotes the text around the fault, which may hold a webhook key: the reason (kept in Redis by the
    // status and the dead-letter index) leaves the quote out. The body itself is in the dead-letter queue.
    const problem = (error as Error).message.replace(/".*"/s, '(text)');
    return { ok: false, code: 'INVALID_JSON', reason: `body is not JSON: ${problem}` };
  }
  const check = validateRecordMessage({ text, value: parsed });
  if (!check.valid) {
    return {
      ok: false,
      code: 'INVALID_MESSAGE',
      reason: check.problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '),
    };
  }
  const groupId = message.Attributes?.MessageGroupId;
  const expected = messageGroupId(check.message);
  if (groupId !== undefined && groupId !== expected) {
    return {
      ok: false,
      code: 'MESSAGE_GROUP_MISMATCH',
      reason: `MessageGroupId is "${groupId}" but must be "${expected}" (accountId:flowId) for ordering to hold`,
    };
  }
  return { ok: true, message: check.message };
}
