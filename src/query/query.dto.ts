import { ApiProperty } from '@nestjs/swagger';
import { WEBHOOK_KEY_RULE } from '../contract/contract-rules';
import { DATA_VALUE_SCHEMAS, IsWebhookKeyList } from '../message/record-message.dto';

export const MAX_BATCH_GET_KEYS = 100;

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

  @ApiProperty({ type: [String], example: ['wh_unknown-key-1'] })
  missing!: string[];
}
