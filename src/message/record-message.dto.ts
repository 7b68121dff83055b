import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
  registerDecorator,
  ValidateIf,
  ValidationArguments,
} from 'class-validator';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE, WEBHOOK_KEY_PATTERN, WEBHOOK_KEY_RULE } from '../contract/contract-rules';

export const RECORD_OPS = ['set', 'delete'] as const;
export type RecordOp = (typeof RECORD_OPS)[number];
export const MAX_WEBHOOK_KEYS_PER_MESSAGE = 1000;

/** What `data` may be in the OpenAPI document: any JSON value except null. Shared by the message and the reads. */
export const DATA_VALUE_SCHEMAS = [
  { type: 'object', additionalProperties: true },
  { type: 'array', items: {} },
  { type: 'string' },
  { type: 'number' },
  { type: 'boolean' },
];

/**
 * The message contract (docs/contract.md), version 1: the one definition of what a producer may send. The gateway
 * validates HTTP bodies with it, the worker validates SQS bodies with it, and the API Gateway's JSON schema is
 * generated from it.
 */
export class RecordMessageDto {
  @ApiPropertyOptional({ enum: RECORD_OPS, default: 'set', description: '"set" stores data, "delete" removes it' })
  @ValidateIf((message: RecordMessageDto) => message.op !== undefined)
  @IsIn(RECORD_OPS, { message: 'op must be "set" or "delete"' })
  op?: RecordOp;

  @ApiProperty({ pattern: ENTITY_ID_PATTERN.source, example: 'acme', description: `Account id: ${ENTITY_ID_RULE}` })
  @IsString({ message: 'accountId must be a string' })
  @Matches(ENTITY_ID_PATTERN, { message: `accountId must be ${ENTITY_ID_RULE}` })
  accountId!: string;

  @ApiProperty({ pattern: ENTITY_ID_PATTERN.source, example: 'orders-sync', description: `Flow id: ${ENTITY_ID_RULE}` })
  @IsString({ message: 'flowId must be a string' })
  @Matches(ENTITY_ID_PATTERN, { message: `flowId must be ${ENTITY_ID_RULE}` })
  flowId!: string;

  @ApiProperty({
    type: 'array',
    items: { type: 'string', pattern: WEBHOOK_KEY_PATTERN.source, minLength: 8, maxLength: 512 },
    minItems: 1,
    maxItems: MAX_WEBHOOK_KEYS_PER_MESSAGE,
    uniqueItems: true,
    example: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
    description: `Webhook keys to store the data under, each ${WEBHOOK_KEY_RULE}`,
  })
  @IsWebhookKeyList(MAX_WEBHOOK_KEYS_PER_MESSAGE)
  webhookKeys!: string[];

  @ApiPropertyOptional({
    oneOf: DATA_VALUE_SCHEMAS,
    example: { orderId: 'A-1001', status: 'shipped', lines: 3 },
    description: 'Any JSON value except null. Required for "set", absent for "delete".',
  })
  @IsDataForOp()
  data?: unknown;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
    example: 42,
    description: 'Stale-write guard: not applied to a key whose stored version is greater',
  })
  @ValidateIf((message: RecordMessageDto) => message.version !== undefined)
  @IsInt({ message: 'version must be an integer' })
  @Min(0, { message: 'version must be at least 0' })
  @Max(Number.MAX_SAFE_INTEGER, { message: `version must be at most ${Number.MAX_SAFE_INTEGER}` })
  version?: number;
}

/** A list of 1 to `max` unique webhook keys. */
export function IsWebhookKeyList(max: number) {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isWebhookKeyList',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown) => webhookKeyListProblem(value, max) === null,
        defaultMessage: (args: ValidationArguments) => webhookKeyListProblem(args.value, max) ?? '',
      },
    });
}

/** Names the first problem with the list, pointing at the offending item so a producer can find it among 1000. */
export function webhookKeyListProblem(value: unknown, max: number): string | null {
  if (!Array.isArray(value)) return 'webhookKeys must be an array of strings';
  if (value.length < 1 || value.length > max) {
    return `webhookKeys must hold 1 to ${max} keys, got ${value.length}`;
  }
  const seen = new Set<string>();
  for (let index = 0; index < value.length; index++) {
    const key: unknown = value[index];
    if (typeof key !== 'string' || !WEBHOOK_KEY_PATTERN.test(key)) {
      return `webhookKeys[${index}] must be ${WEBHOOK_KEY_RULE}`;
    }
    if (seen.has(key)) return `webhookKeys[${index}] repeats an earlier key; keys must be unique`;
    seen.add(key);
  }
  return null;
}

function IsDataForOp() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isDataForOp',
      target: target.constructor,
      propertyName,
      validator: {
        validate: (value: unknown, args: ValidationArguments) => dataProblem(value, args.object) === null,
        defaultMessage: (args: ValidationArguments) => dataProblem(args.value, args.object) ?? '',
      },
    });
}

function dataProblem(value: unknown, message: object): string | null {
  if ((message as RecordMessageDto).op === 'delete') {
    return value === undefined ? null : 'data must be absent when op is "delete"';
  }
  if (value === undefined) return 'data is required when op is "set"';
  if (value === null) return 'data must not be null';
  return null;
}
