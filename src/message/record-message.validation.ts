import { validateSync, ValidationError } from 'class-validator';
import { FieldProblem } from '../common/error-response.dto';
import { RecordMessageDto, RecordOp } from './record-message.dto';

/** A message that passed validation, with `op` defaulted. */
export interface RecordMessage {
  op: RecordOp;
  accountId: string;
  flowId: string;
  webhookKeys: string[];
  data?: unknown;
  version?: number;
}

export type RecordMessageCheck = { valid: true; message: RecordMessage } | { valid: false; problems: FieldProblem[] };

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['op', 'accountId', 'flowId', 'webhookKeys', 'data', 'version']);

/**
 * Validates a parsed message body against RecordMessageDto. Used by the gateway for HTTP bodies and by the worker
 * for SQS bodies, so both accept and refuse exactly the same messages with the same reasons.
 *
 * The body is copied shallowly (not through class-transformer) because `data` may be a large document that must
 * reach Redis byte-for-byte as the producer sent it.
 */
export function validateRecordMessage(body: unknown): RecordMessageCheck {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { valid: false, problems: [{ field: '(body)', message: 'the message must be a JSON object' }] };
  }
  const problems: FieldProblem[] = [];
  const candidate = new RecordMessageDto();
  for (const [field, value] of Object.entries(body)) {
    if (KNOWN_FIELDS.has(field)) {
      Object.defineProperty(candidate, field, { value, enumerable: true, writable: true, configurable: true });
    } else {
      problems.push({ field, message: `property ${field} is not part of the message contract` });
    }
  }
  problems.push(...toFieldProblems(validateSync(candidate, { stopAtFirstError: true })));
  if (problems.length > 0) return { valid: false, problems };
  return {
    valid: true,
    message: {
      op: candidate.op ?? 'set',
      accountId: candidate.accountId,
      flowId: candidate.flowId,
      webhookKeys: candidate.webhookKeys,
      data: candidate.data,
      version: candidate.version,
    },
  };
}

export function toFieldProblems(errors: ValidationError[]): FieldProblem[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => ({ field: error.property, message })),
  );
}
