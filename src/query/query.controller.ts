import { Body, Controller, Get, Headers, HttpCode, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { ErrorResponseDto } from '../common/error-response.dto';
import { BatchGetDto, BatchGetResultDto, RecordDataDto } from './query.dto';
import { QueryService, WEBHOOK_KEY_HEADER } from './query.service';

const JSON_CONTENT = 'application/json; charset=utf-8';

@ApiTags('Query (consumers)')
@Controller('v1/data')
export class QueryController {
  constructor(private readonly query: QueryService) {}

  @Get()
  @ApiOperation({
    summary: 'The data stored under a webhook key',
    description: 'The webhook key, in the x-webhook-key header, is the credential.',
  })
  @ApiSecurity('webhook-key')
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'An ETag from an earlier answer' })
  @ApiOkResponse({
    type: RecordDataDto,
    headers: { ETag: { description: 'Strong entity tag', schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 304, description: 'Unchanged since the ETag in If-None-Match' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Missing or malformed x-webhook-key' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown or expired key' })
  async read(
    @Headers(WEBHOOK_KEY_HEADER) webhookKey: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const result = await this.query.read(webhookKey, ifNoneMatch);
    reply.header('etag', result.etag);
    if (result.kind === 'not-modified') await reply.code(304).send();
    else await reply.header('content-type', JSON_CONTENT).send(result.body);
  }

  @Post('batch-get')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The data under up to 100 webhook keys at once',
    description: 'No header credential: each webhook key in the body is the credential for its own data.',
    security: [],
  })
  @ApiOkResponse({ type: BatchGetResultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async readMany(@Body() body: BatchGetDto, @Res() reply: FastifyReply): Promise<void> {
    await reply.header('content-type', JSON_CONTENT).send(await this.query.readMany(body.webhookKeys));
  }
}
