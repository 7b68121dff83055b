import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min, registerDecorator } from 'class-validator';
import { WEBHOOK_KEY_RULE } from '../contract/contract-rules';
import { DATA_VALUE_SCHEMAS, IsWebhookKeyList } from '../message/record-message.dto';

export const MAX_BATCH_GET_KEYS = 100;
/** The most any configuration allows (READ_WAIT_MAX_SECONDS is at most this); longer waits are shortened to it. */
export const MAX_WAIT_SECONDS = 3600;
const MAX_ETAG_LENGTH = 200;

export class BatchGetDto {
  @ApiProperty({
    type: [String],
    minItems: 1,
    maxItems: MAX_BATCH_GET_KEYS,
    uniqueItems: true,
    example: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
    description: `1 to ${MAX_BATCH_GET_KEYS} unique webhook keys, each ${WEBHOOK_KEY_RULE}`,
  })
  @IsWebhookKeyList(MAX_BATCH_GET_KEYS)
  webhookKeys!: string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'string', maxLength: MAX_ETAG_LENGTH },
    example: { wh_7f3c9a1e2b4d: '"Qm9keUV0YWctMTIzNDU2Nzg5MA"' },
    description:
      'The ETag the client holds for some of the keys (each must be in webhookKeys). With waitSeconds, such a key ' +
      'counts as changed once its ETag differs (or it is gone); a key without one, once it exists.',
  })
  @IsOptional()
  @IsEtagMap()
  etags?: Record<string, string>;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_WAIT_SECONDS,
    example: 30,
    description:
      'Hold the request until any key differs from what the client holds (see etags), at most this many seconds ' +
      '(shortened to READ_WAIT_MAX_SECONDS, 60 by default); then answer as usual. 0 or absent: answer at once.',
  })
  @IsOptional()
  @IsInt({ message: 'waitSeconds must be an integer' })
  @Min(0, { message: 'waitSeconds must be at least 0' })
  @Max(MAX_WAIT_SECONDS, { message: `waitSeconds must be at most ${MAX_WAIT_SECONDS}` })
  waitSeconds?: number;
}

/** An object of strings of up to MAX_ETAG_LENGTH characters. */
function IsEtagMap() {
  return (target: object, propertyName: string) =>
    registerDecorator({
      name: 'isEtagMap',
      target: target.constructor,
      propertyName,
      options: { message: `etags must be an object of ETag strings of up to ${MAX_ETAG_LENGTH} characters` },
      validator: {
        validate: (value: unknown) =>
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          Object.values(value).every((etag) => typeof etag === 'string' && etag.length <= MAX_ETAG_LENGTH),
      },
    });
}

export class RecordDataDto {
  @ApiProperty({ example: 'acme' })
  accountId!: string;

  @ApiProperty({ example: 'orders-sync' })
  flowId!: string;

  @ApiProperty({
    oneOf: DATA_VALUE_SCHEMAS,
    example: { orderId: 'A-1001', status: 'shipped' },
    description: 'The JSON value the producer sent',
  })
  data!: unknown;

  @ApiProperty({ type: 'integer', nullable: true, example: 42 })
  version!: number | null;

  @ApiProperty({ format: 'date-time', example: '2026-11-25T09:30:00.000Z' })
  storedAt!: string;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-02T09:30:00.000Z',
    description: 'null: never',
  })
  expiresAt!: string | null;
}

export class BatchGetResultDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/RecordDataDto' },
    description: 'Found keys, each with the same object GET /v1/data answers',
  })
  items!: Record<string, RecordDataDto>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    example: { wh_7f3c9a1e2b4d: '"Qm9keUV0YWctMTIzNDU2Nzg5MA"' },
    description: 'The strong ETag of each found key, as GET /v1/data answers it',
  })
  etags!: Record<string, string>;

  @ApiProperty({ type: [String], example: ['wh_unknown-key-1'] })
  missing!: string[];
}
