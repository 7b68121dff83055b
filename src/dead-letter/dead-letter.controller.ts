import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Audited, AuditChange, CurrentAuditChange } from '../audit/audited';
import { RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { StartedJobDto } from '../jobs/jobs.dto';
import { DeadLetterEntry } from '../store/dead-letter-index';
import {
  DeadLetterDto,
  DeadLetterPageDto,
  DeadLetterParams,
  DeadLetterQuery,
  RedriveRequestDto,
} from './dead-letter.dto';
import { DeadLetterService } from './dead-letter.service';

const DEFAULT_PAGE = 50;

@ApiTags('Dead letters (admin)')
@RequireApiKey('admin')
@ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis or SQS cannot be reached (Retry-After)' })
@Controller('admin/dead-letters')
export class DeadLetterController {
  constructor(private readonly deadLetters: DeadLetterService) {}

  @Get()
  @ApiOperation({
    summary: 'Messages in the dead-letter queue, newest first',
    description: 'Those the worker moved with a reason, and those SQS moved by itself (MOVED_BY_SQS).',
  })
  @ApiOkResponse({ type: DeadLetterPageDto })
  async list(@Query() query: DeadLetterQuery): Promise<DeadLetterPageDto> {
    const page = await this.deadLetters.list(
      {
        ...(query.accountId !== undefined && { accountId: query.accountId }),
        ...(query.flowId !== undefined && { flowId: query.flowId }),
        ...(query.errorCode !== undefined && { errorCode: query.errorCode }),
      },
      query.limit ?? DEFAULT_PAGE,
      query.cursor ?? null,
    );
    return { items: page.items.map(toDto), nextCursor: page.nextCursor };
  }

  @Post('redrive')
  @Audited('dead-letter.redrive')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send dead letters back to the ingest queue (a job)',
    description:
      'In each group’s original order. A redriven message never overwrites data stored by a message sent after ' +
      'it, versioned or not. Each leaves the dead-letter queue only once it is back on the ingest queue. An empty ' +
      'body redrives every dead letter.',
  })
  @ApiAcceptedResponse({ type: StartedJobDto })
  async redrive(@Body() body: RedriveRequestDto, @CurrentAuditChange() change: AuditChange): Promise<StartedJobDto> {
    const job = await this.deadLetters.startRedrive(body);
    change.target = `dead letters ${JSON.stringify(body)}`;
    change.after = { jobId: job.jobId, selected: job.progress.total };
    return { jobId: job.jobId };
  }

  @Get(':messageId')
  @ApiOperation({ summary: 'One dead letter' })
  @ApiOkResponse({ type: DeadLetterDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async get(@Param() params: DeadLetterParams): Promise<DeadLetterDto> {
    return toDto(await this.deadLetters.get(params.messageId));
  }

  @Delete(':messageId')
  @Audited('dead-letter.delete')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete one dead letter from the dead-letter queue' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async remove(@Param() params: DeadLetterParams, @CurrentAuditChange() change: AuditChange): Promise<void> {
    const removed = await this.deadLetters.remove(params.messageId);
    // The audit names what was deleted, without its body or reason: both may quote a customer's data.
    const { messageId, accountId, flowId, errorCode, deadLetteredAt } = toDto(removed);
    change.before = { messageId, accountId, flowId, errorCode, deadLetteredAt };
  }
}

function toDto(entry: DeadLetterEntry): DeadLetterDto {
  return {
    messageId: entry.messageId,
    ...(entry.accountId !== undefined && { accountId: entry.accountId }),
    ...(entry.flowId !== undefined && { flowId: entry.flowId }),
    errorCode: entry.errorCode,
    errorMessage: entry.errorMessage,
    deadLetteredAt: new Date(entry.deadLetteredAt).toISOString(),
    receiveCount: entry.receiveCount,
    body: entry.body,
  };
}
