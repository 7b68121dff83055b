import { validateSync, ValidationError } from 'class-validator';
import { FieldProblem } from '../common/error-response.dto';
import { JsonDocument } from '../common/json-body';
import { compileValidator } from './compiled-validator';
import { scanDataMember } from './data-member';
import { RecordMessageDto, RecordOp } from './record-message.dto';

/** A message that passed validation, with `op` defaulted. */
export interface RecordMessage {
  op: RecordOp;
  accountId: string;
  flowId: string;
  webhookKeys: string[];
  /** The JSON text of `data` exactly as the producer wrote it; present for "set", absent for "delete". */
  dataJson?: string;
  version?: number;
}

export type RecordMessageCheck = { valid: true; message: RecordMessage } | { valid: false; problems: FieldProblem[] };

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['op', 'accountId', 'flowId', 'webhookKeys', 'data', 'version']);

/**
 * RecordMessageDto's decorators compiled into one function: decides a valid message at a fraction of validateSync's
 * cost (the worker validates every message it receives). validateSync still names the problems of a refused one.
 */
export const recordMessageDtoAccepts = compileValidator(RecordMessageDto);

/**
 * Validates a message body against RecordMessageDto. Used by the gateway for HTTP bodies and by the worker for SQS
 * bodies, so both accept and refuse exactly the same messages with the same reasons.
 *
 * The fields are validated on the parsed value, copied shallowly (not through class-transformer, which would copy
 * a large `data`). What the message carries on as data is the text of `data` in the body, not the parsed value:
 * parsing and serialising again would change numbers, whitespace and escapes. A name that appears twice at the
 * top level is refused, since the value JSON.parse kept (the last) need not be the one whose text would be found.
 */
export function validateRecordMessage(body: JsonDocument): RecordMessageCheck {
  if (typeof body.value !== 'object' || body.value === null || Array.isArray(body.value)) {
    return { valid: false, problems: [{ field: '(body)', message: 'the message must be a JSON object' }] };
  }
  const scan = scanDataMember(body.text);
  if (scan.kind === 'invalid') {
    return { valid: false, problems: [{ field: '(body)', message: `the message is not valid JSON: ${scan.reason}` }] };
  }
  const problems: FieldProblem[] =
    scan.kind === 'duplicate'
      ? [{ field: scan.member, message: `property ${scan.member} appears more than once; each may appear only once` }]
      : [];
  const candidate = new RecordMessageDto();
  for (const [field, value] of Object.entries(body.value)) {
    if (KNOWN_FIELDS.has(field)) {
      Object.defineProperty(candidate, field, { value, enumerable: true, writable: true, configurable: true });
    } else {
      problems.push({ field, message: `property ${field} is not part of the message contract` });
    }
  }
  if (problems.length > 0 || !recordMessageDtoAccepts(candidate)) {
    problems.push(...toFieldProblems(validateSync(candidate, { stopAtFirstError: true })));
  }
  if (problems.length > 0) return { valid: false, problems };
  return {
    valid: true,
    message: {
      op: candidate.op ?? 'set',
      accountId: candidate.accountId,
      flowId: candidate.flowId,
      webhookKeys: candidate.webhookKeys,
      dataJson: scan.kind === 'found' ? body.text.slice(scan.start, scan.end) : undefined,
      version: candidate.version,
    },
  };
}

export function toFieldProblems(errors: ValidationError[]): FieldProblem[] {
  return errors.flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => ({ field: error.property, message })),
  );
}
