import { Controller, Delete, HttpCode, Param } from '@nestjs/common';
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
import { AccountParams } from './erasure.dto';
import { ErasureService } from './erasure.service';

@ApiTags('Governance (admin)')
@RequireApiKey('admin')
@Controller('admin/accounts')
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  @Delete(':accountId/data')
  @Audited('account.erase')
  @HttpCode(202)
  @ApiOperation({
    summary: "Erase an account's data everywhere (a job)",
    description:
      'Its keys, data, tombstones and delete markers, TTL policies, journal entries, archived copies and dead ' +
      'letters. A restore afterwards brings none of it back. Messages of the account still queued or in flight ' +
      'when the job runs may land after it: stop its producers first, or run the erasure again.',
  })
  @ApiAcceptedResponse({ type: StartedJobDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A re-key (POST /admin/rekey) is running' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis cannot be reached (Retry-After)' })
  async erase(@Param() params: AccountParams): Promise<StartedJobDto> {
    const job = await this.erasure.start(params.accountId);
    return { jobId: job.jobId };
  }
}
