import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Audited, AuditChange, CurrentAuditChange } from '../audit/audited';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ArchiveRun } from '../store/archive-state-store';
import { RestoreCounts } from './archive-restorer';
import { ArchiveRunDto, RestoreRequestDto, RestoreResultDto, RunParams, StartedRunDto } from './archive.dto';
import { ArchiveService } from './archive.service';

@ApiTags('Archive (admin)')
@RequireApiKey('admin')
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The archive is off (MONGODB_URI is not set)' })
@Controller('admin/archive')
export class ArchiveController {
  constructor(private readonly archive: ArchiveService) {}

  @Post('runs')
  @Audited('archive-run.start')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start an archive run now' })
  @ApiAcceptedResponse({ type: StartedRunDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'A run is in progress (on any instance)' })
  async start(): Promise<StartedRunDto> {
    const run = await this.archive.startRun('manual');
    return { runId: run.runId };
  }

  @Get('runs')
  @ApiOperation({ summary: 'Archive runs, newest first (the last 100)' })
  @ApiOkResponse({ type: [ArchiveRunDto] })
  list(): Promise<ArchiveRun[]> {
    return this.archive.listRuns();
  }

  @Get('runs/:runId')
  @ApiOperation({ summary: 'One archive run' })
  @ApiOkResponse({ type: ArchiveRunDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param() params: RunParams): Promise<ArchiveRun> {
    return this.archive.getRun(params.runId);
  }

  @Post('restore')
  @Audited('archive.restore')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Write archived data back to Redis',
    description:
      'Data that has not expired and was not deleted, with its remaining TTL, only where a key is absent or ' +
      'holds an older version; and TTL policies Redis lacks. An empty body restores everything.',
  })
  @ApiOkResponse({ type: RestoreResultDto })
  restore(@Body() body: RestoreRequestDto, @CurrentAuditChange() change: AuditChange): Promise<RestoreCounts> {
    // What was restored is the answer (the entry's `after`); what was asked for is the target.
    change.target = `archive restore of accountId=${body.accountId ?? '*'} flowId=${body.flowId ?? '*'}`;
    return this.archive.restore(body);
  }
}
