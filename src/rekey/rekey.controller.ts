import { Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Audited } from '../audit/audited';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { StartedJobDto } from '../jobs/jobs.dto';
import { RekeyService } from './rekey.service';

@ApiTags('Governance (admin)')
@RequireApiKey('admin')
@Controller('admin/rekey')
export class RekeyController {
  constructor(private readonly rekey: RekeyService) {}

  @Post()
  @Audited('rekey.start')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Move every webhook key to the newest secret of WEBHOOK_KEY_SECRETS (a job)',
    description:
      'Records, tombstones and delete markers in Redis, then the archived documents (after an archive run). ' +
      'Progress (GET /admin/jobs/:jobId): scanned, moved, alreadyCurrent, superseded, unmovable, archiveMoved, ' +
      'archiveUnmovable. Once it has succeeded with unmovable and archiveUnmovable 0, the older secrets can be ' +
      'removed. With one secret it moves nothing and succeeds.',
  })
  @ApiAcceptedResponse({ type: StartedJobDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A re-key or an account erasure is running' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis cannot be reached (Retry-After)' })
  async start(): Promise<StartedJobDto> {
    const job = await this.rekey.start();
    return { jobId: job.jobId };
  }
}
