import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Matches } from 'class-validator';

export class KeyCountsDto {
  @ApiProperty({ example: 2, description: 'Keys written (or already holding this message’s data)' })
  applied!: number;

  @ApiProperty({ example: 0, description: 'Keys left alone because they hold newer data' })
  stale!: number;

  @ApiProperty({ example: 0, description: 'Keys left alone because another account owns them' })
  foreign!: number;
}

export class MessageStatusDto {
  @ApiProperty({ example: '6f1c0a52-3f43-4d0c-9a57-1e2b7c9d8a10' })
  messageId!: string;

  @ApiProperty({ example: 'acme' })
  accountId!: string;

  @ApiProperty({ example: 'orders-sync' })
  flowId!: string;

  @ApiProperty({ enum: ['applied', 'dead-lettered'], example: 'applied' })
  status!: 'applied' | 'dead-lettered';

  @ApiProperty({ format: 'date-time', example: '2026-11-30T10:00:00.120Z' })
  decidedAt!: string;

  @ApiProperty({ type: KeyCountsDto })
  keys!: KeyCountsDto;

  @ApiPropertyOptional({ example: 'KEY_OWNED_BY_OTHER_ACCOUNT' })
  errorCode?: string;

  @ApiPropertyOptional({ example: 'every webhook key of this message is owned by another account than acme' })
  errorMessage?: string;
}

export class MessageStatusParams {
  @ApiProperty({ description: 'The messageId POST /v1/records answered' })
  @Matches(/^[A-Za-z0-9-]{1,100}$/, { message: 'messageId must be an SQS message id' })
  messageId!: string;
}
