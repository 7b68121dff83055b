import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiHeader,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, Principal, RequireApiKey } from '../common/api-key.guard';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JsonBodyText } from '../common/json-body';
import { RecordMessageDto } from '../message/record-message.dto';
import { AcceptedRecordDto } from './gateway.dto';
import { GatewayService } from './gateway.service';
import { QueuedMessage } from '../queue/record-queue';

@ApiTags('Gateway (producers)')
@RequireApiKey('producer')
@Controller('v1/records')
export class GatewayController {
  constructor(private readonly gateway: GatewayService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a set or delete of data under webhook keys',
    description:
      'Validates the message and sends it to the SQS FIFO queue with MessageGroupId accountId:flowId; ' +
      'a worker applies it to Redis shortly after.',
  })
  @ApiBody({
    type: RecordMessageDto,
    examples: {
      set: {
        summary: 'Store data under two keys',
        value: {
          accountId: 'acme',
          flowId: 'orders-sync',
          webhookKeys: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
          data: { orderId: 'A-1001', status: 'shipped' },
          version: 42,
        },
      },
      delete: {
        summary: 'Remove the data under a key',
        value: { op: 'delete', accountId: 'acme', flowId: 'orders-sync', webhookKeys: ['wh_7f3c9a1e2b4d'] },
      },
    },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Becomes the FIFO MessageDeduplicationId (scoped to accountId:flowId): a repeat within 5 minutes is accepted ' +
      'but not queued again',
  })
  @ApiAcceptedResponse({ type: AcceptedRecordDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid message; `details` names each field' })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'The queue cannot be reached (Retry-After)' })
  submit(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @JsonBodyText() bodyText: string | undefined,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<QueuedMessage> {
    return this.gateway.submit(principal, { value: body, text: bodyText ?? '' }, idempotencyKey);
  }
}
