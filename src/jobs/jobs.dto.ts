import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';

export class JobDto {
  @ApiProperty({ format: 'uuid', example: '5d0c7f5e-8a43-4d4e-9c1b-0a6c3f2b9e77' })
  jobId!: string;

  @ApiProperty({
    example: 'redrive',
    description:
      'What the job does: `redrive` (dead letters back to the queue), `rekey` (every webhook key to the newest ' +
      "secret) or `erase-account` (one account's data erased)",
  })
  kind!: string;

  @ApiProperty({ enum: ['running', 'succeeded', 'failed'], example: 'running' })
  status!: 'running' | 'succeeded' | 'failed';

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { total: 120, redriven: 80, missing: 0 },
    description: 'Counts that grow as the job goes; each kind documents its own',
  })
  progress!: Record<string, number>;

  @ApiProperty({ format: 'date-time', example: '2026-11-30T10:00:00.000Z' })
  startedAt!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: null })
  finishedAt!: string | null;

  @ApiPropertyOptional({ example: 'SQS refused the message: ...' })
  error?: string;
}

export class StartedJobDto {
  @ApiProperty({ format: 'uuid', example: '5d0c7f5e-8a43-4d4e-9c1b-0a6c3f2b9e77' })
  jobId!: string;
}

export class JobParams {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('4', { message: 'jobId must be a UUID' })
  jobId!: string;
}
