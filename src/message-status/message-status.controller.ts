import { Controller, Get, Param } from '@nestjs/common';
import {
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiException } from '../common/api-exception';
import { CurrentPrincipal, Principal, RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { MessageStatusStore } from '../store/message-status-store';
import { MessageStatusDto, MessageStatusParams } from './message-status.dto';

@ApiTags('Gateway (producers)')
@RequireApiKey('producer')
@Controller('v1/records')
export class MessageStatusController {
  constructor(private readonly statuses: MessageStatusStore) {}

  @Get(':messageId')
  @ApiOperation({
    summary: 'What the worker decided about a message',
    description:
      'Applied or dead-lettered, with per-key counts and the reason. 404 until the worker has decided, after ' +
      'STATUS_TTL_SECONDS, and for a message of another account.',
  })
  @ApiOkResponse({ type: MessageStatusDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Redis cannot be reached (Retry-After)' })
  async get(@CurrentPrincipal() principal: Principal, @Param() params: MessageStatusParams): Promise<MessageStatusDto> {
    const status = await this.statuses.get(params.messageId);
    // Another account's message reads as unknown: its existence is not this producer's business.
    if (status === null || status.accountId !== principal.accountId) {
      throw new ApiException(404, `No decision about message ${params.messageId} (yet)`);
    }
    return status;
  }
}
