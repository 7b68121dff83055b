import { Controller, Get, Param } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiException } from '../common/api-exception';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JobRecord, JobStore } from '../store/job-store';
import { JobDto, JobParams } from './jobs.dto';

/** Jobs kept and listed; older finished ones are dropped (JobStore). */
const LISTED_JOBS = 200;

@ApiTags('Jobs (admin)')
@RequireApiKey('admin')
@Controller('admin/jobs')
export class JobsController {
  constructor(private readonly jobs: JobStore) {}

  @Get()
  @ApiOperation({ summary: 'Admin jobs (redrive, ...), newest first' })
  @ApiOkResponse({ type: [JobDto] })
  async list(): Promise<JobDto[]> {
    return (await this.jobs.list(LISTED_JOBS)).map(toDto);
  }

  @Get(':jobId')
  @ApiOperation({ summary: 'One job, with its progress' })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param() params: JobParams): Promise<JobDto> {
    const job = await this.jobs.get(params.jobId);
    if (job === null) throw new ApiException(404, `No job ${params.jobId}`);
    return toDto(job);
  }
}

/** A job as the API shows it: its params are the handler's business. */
function toDto(job: JobRecord): JobDto {
  return {
    jobId: job.jobId,
    kind: job.kind,
    status: job.status,
    progress: job.progress,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    ...(job.error !== undefined && { error: job.error }),
  };
}
