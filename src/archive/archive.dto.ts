import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID, Matches } from 'class-validator';
import { ENTITY_ID_PATTERN, ENTITY_ID_RULE } from '../contract/contract-rules';

export class ArchiveRunDto {
  @ApiProperty({ format: 'uuid', example: '0b6f3f0e-5a49-4a59-9a57-2f7c1e0d8c11' })
  runId!: string;

  @ApiProperty({ enum: ['running', 'succeeded', 'failed'], example: 'succeeded' })
  status!: 'running' | 'succeeded' | 'failed';

  @ApiProperty({
    enum: ['schedule', 'manual', 'rekey'],
    example: 'schedule',
    description: '`rekey`: started by a re-key job (POST /admin/rekey) before it re-keys the archive',
  })
  trigger!: 'schedule' | 'manual' | 'rekey';

  @ApiProperty({ format: 'date-time', example: '2026-11-25T02:00:00.012Z' })
  startedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2026-11-25T02:03:41.870Z' })
  finishedAt!: string | null;

  @ApiProperty({ example: 120345, description: 'Archived records created or changed by the run' })
  recordsArchived!: number;

  @ApiProperty({ example: 12, description: 'Archived TTL policies created or changed by the run' })
  policiesArchived!: number;

  @ApiPropertyOptional({ example: 'Server selection timed out after 5000 ms' })
  error?: string;
}

export class StartedRunDto {
  @ApiProperty({ format: 'uuid', example: '0b6f3f0e-5a49-4a59-9a57-2f7c1e0d8c11' })
  runId!: string;
}

export class RunParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'runId must be a UUID' })
  runId!: string;
}

export class RestoreRequestDto {
  @ApiPropertyOptional({ example: 'acme', description: 'Only this account (all when absent)' })
  @IsOptional()
  @Matches(ENTITY_ID_PATTERN, { message: `accountId must be ${ENTITY_ID_RULE}` })
  accountId?: string;

  @ApiPropertyOptional({ example: 'orders-sync', description: 'Only this flow (all when absent)' })
  @IsOptional()
  @Matches(ENTITY_ID_PATTERN, { message: `flowId must be ${ENTITY_ID_RULE}` })
  flowId?: string;
}

export class RestoreResultDto {
  @ApiProperty({ example: 1530, description: 'Webhook keys written back' })
  restored!: number;

  @ApiProperty({ example: 210, description: 'Keys of archived data whose TTL has ended' })
  skippedExpired!: number;

  @ApiProperty({
    example: 4,
    description: 'Keys Redis holds with newer (or unversioned) data, or owned by another account',
  })
  skippedNewer!: number;

  @ApiProperty({ example: 17, description: 'Keys deleted or overwritten after the data was archived' })
  skippedDeleted!: number;

  @ApiProperty({ example: 3, description: 'TTL policies written back because Redis had none' })
  policiesRestored!: number;
}
