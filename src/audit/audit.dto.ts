import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { AUDIT_CURSOR_PATTERN } from '../store/audit-store';

export const MAX_AUDIT_PAGE = 500;

export class AuditQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_AUDIT_PAGE, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be an integer' })
  @Min(1, { message: `limit must be 1 to ${MAX_AUDIT_PAGE}` })
  @Max(MAX_AUDIT_PAGE, { message: `limit must be 1 to ${MAX_AUDIT_PAGE}` })
  limit?: number;

  @ApiPropertyOptional({
    example: '1764504000000-0',
    description: 'The nextCursor of the previous page; absent for the newest entries',
  })
  @IsOptional()
  @Matches(AUDIT_CURSOR_PATTERN, { message: 'cursor must be a nextCursor this route answered' })
  cursor?: string;
}

export class AuditEntryDto {
  @ApiProperty({ format: 'date-time', example: '2026-11-30T19:30:00.000Z' })
  at!: string;

  @ApiProperty({ example: 'ops.alice', description: 'The id of the admin API key (never the key itself)' })
  actor!: string;

  @ApiProperty({ example: 'ttl-policy.put' })
  action!: string;

  @ApiProperty({ example: '/admin/ttl-policies/accounts/acme' })
  target!: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { accountId: 'acme', flowId: null, ttlSeconds: 86400, updatedAt: '2026-11-01T08:00:00.000Z' },
    description: 'The state before the change, when the route knows it',
  })
  before?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { accountId: 'acme', flowId: null, ttlSeconds: 3600, updatedAt: '2026-11-30T19:30:00.000Z' },
    description: 'The state after the change, or what the route answered',
  })
  after?: Record<string, unknown>;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' })
  items!: AuditEntryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: '1764504000000-0',
    description: 'Pass as cursor for the next page; null on the last',
  })
  nextCursor!: string | null;
}
