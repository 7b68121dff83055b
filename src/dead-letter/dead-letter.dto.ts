import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE } from '../contract/contract-rules';

const MESSAGE_ID_PATTERN = /^[A-Za-z0-9-]{1,100}$/;
const ERROR_CODE_PATTERN = /^[A-Z_]{1,64}$/;

export class DeadLetterDto {
  @ApiProperty({ example: '6f1c0a52-3f43-4d0c-9a57-1e2b7c9d8a10', description: 'The id POST /v1/records answered' })
  messageId!: string;

  @ApiPropertyOptional({ example: 'acme', description: 'Absent when the message names no account' })
  accountId?: string;

  @ApiPropertyOptional({ example: 'orders-sync' })
  flowId?: string;

  @ApiProperty({
    example: 'KEY_OWNED_BY_OTHER_ACCOUNT',
    description:
      'Why: MESSAGE_TOO_LARGE, INVALID_JSON, INVALID_MESSAGE, MESSAGE_GROUP_MISMATCH, KEY_OWNED_BY_OTHER_ACCOUNT, ' +
      'RETRIES_EXHAUSTED, or MOVED_BY_SQS (SQS moved it after maxReceiveCount receives)',
  })
  errorCode!: string;

  @ApiProperty({ example: 'every webhook key of this message is owned by another account than acme' })
  errorMessage!: string;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T10:00:00.000Z' })
  deadLetteredAt!: string;

  @ApiProperty({ example: 1, description: 'Receives from the ingest queue before it was dead-lettered' })
  receiveCount!: number;

  @ApiProperty({ example: '{"accountId":"acme","flowId":"orders-sync","webhookKeys":["wh_1"],"data":{}}' })
  body!: string;
}

export class DeadLetterPageDto {
  @ApiProperty({ type: [DeadLetterDto] })
  items!: DeadLetterDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null at the end' })
  nextCursor!: string | null;
}

/** The filters of a listing and of a redrive's selection: exact matches, all optional. */
export class DeadLetterFilterDto {
  @ApiPropertyOptional()
  @IsOptional()
  @Matches(ENTITY_ID_PATTERN, { message: `accountId must be ${ENTITY_ID_RULE}` })
  accountId?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(ENTITY_ID_PATTERN, { message: `flowId must be ${ENTITY_ID_RULE}` })
  flowId?: string;

  @ApiPropertyOptional({ example: 'KEY_OWNED_BY_OTHER_ACCOUNT' })
  @IsOptional()
  @Matches(ERROR_CODE_PATTERN, { message: 'errorCode must be an error code such as INVALID_MESSAGE' })
  errorCode?: string;
}

export class DeadLetterQuery extends DeadLetterFilterDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50, description: 'Entries carry bodies of up to 256 KiB' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: 'limit must be at least 1' })
  @Max(100, { message: 'limit must be at most 100' })
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512, { message: 'cursor must be one this service returned' })
  cursor?: string;
}

export class DeadLetterParams {
  @ApiProperty()
  @Matches(MESSAGE_ID_PATTERN, { message: 'messageId must be an SQS message id' })
  messageId!: string;
}

export class RedriveRequestDto extends DeadLetterFilterDto {
  @ApiPropertyOptional({ type: [String], description: 'Only these messages' })
  // Not IsOptional: that lets null through, and a null selection must never mean "everything".
  @ValidateIf((_, value) => value !== undefined)
  @IsArray({ message: 'messageIds must be an array' })
  @ArrayMaxSize(10_000, { message: 'messageIds may list at most 10000 messages' })
  @Matches(MESSAGE_ID_PATTERN, { each: true, message: 'each of messageIds must be an SQS message id' })
  messageIds?: string[];
}
