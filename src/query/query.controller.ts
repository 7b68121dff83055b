import { Body, Controller, Get, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiSecurity,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorResponseDto } from '../common/error-response.dto';
import { preferredWaitSeconds } from './prefer-wait';
import { BatchGetDto, BatchGetResultDto, RecordDataDto } from './query.dto';
import { ReadOrigin } from './read-miss-limiter';
import { QueryService, waitUntilGone, WEBHOOK_KEY_HEADER } from './query.service';

const JSON_CONTENT = 'application/json; charset=utf-8';

const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds until the minute is over', schema: { type: 'integer' } },
};
const TOO_MANY_MISSES =
  'Too many reads of unknown webhook keys from this address this minute (READ_MISS_LIMIT_PER_MINUTE): every ' +
  'webhook-key read from it answers 429 until the minute is over';

@ApiTags('Query (consumers)')
@Controller('v1/data')
export class QueryController {
  constructor(private readonly query: QueryService) {}

  @Get()
  @ApiOperation({
    summary: 'The data stored under a webhook key',
    description:
      'The webhook key, in the x-webhook-key header, is the credential. With `Prefer: wait=N` the read waits up to ' +
      'N seconds (at most READ_WAIT_MAX_SECONDS) for an answer other than the one the client has: with ' +
      'If-None-Match, until the data changes (200, or 404 when deleted or expired; 304 when the time is up); ' +
      'without, until the key exists (200; 404 when the time is up).',
  })
  @ApiSecurity('webhook-key')
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'An ETag from an earlier answer' })
  @ApiHeader({
    name: 'Prefer',
    required: false,
    description: 'RFC 7240 `wait=N`: seconds to wait for a change (1 to READ_WAIT_MAX_SECONDS, 60 by default)',
    example: 'wait=30',
  })
  @ApiOkResponse({
    type: RecordDataDto,
    headers: {
      ETag: { description: 'Strong entity tag', schema: { type: 'string' } },
      'Preference-Applied': {
        description: 'The wait applied, `wait=N`, when Prefer asked for one',
        schema: { type: 'string' },
      },
    },
  })
  @ApiResponse({
    status: 304,
    description: 'Unchanged since the ETag in If-None-Match (after the wait, when Prefer asked for one)',
    headers: {
      'Preference-Applied': { description: 'The wait applied, `wait=N`', schema: { type: 'string' } },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Missing or malformed x-webhook-key' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Unknown, deleted or expired key' })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: TOO_MANY_MISSES, headers: RETRY_AFTER_HEADER })
  async read(
    @Headers(WEBHOOK_KEY_HEADER) webhookKey: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Headers('prefer') prefer: string | undefined,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // EarlyReadHook's read failed already: answered here (through the exception filter), not tried a second time.
    if (request.earlyReadError !== undefined) throw request.earlyReadError;
    const waitSeconds = preferredWaitSeconds(prefer, this.query.waitMaxSeconds);
    // Set first so that every answer of a waiting read carries it, 404 and 429 included.
    if (waitSeconds !== null) reply.header('preference-applied', `wait=${waitSeconds}`);
    // A wait already held by EarlyReadHook (before Nest's routing) is not held again: the read answers what is there.
    const wait = waitSeconds === null || request.waitHeld ? undefined : waitUntilGone(waitSeconds, reply.raw);
    const result = await this.query.read(webhookKey, ifNoneMatch, originOf(request), wait);
    reply.header('etag', result.etag);
    if (result.kind === 'not-modified') await reply.code(304).send();
    else await reply.header('content-type', JSON_CONTENT).send(result.body);
  }

  @Post('batch-get')
  @HttpCode(200)
  @ApiOperation({
    summary: 'The data under up to 100 webhook keys at once',
    description:
      'No header credential: each webhook key in the body is the credential for its own data. With waitSeconds, ' +
      'the answer waits until any key differs from what the client holds (etags), or the time is up.',
    security: [],
  })
  @ApiOkResponse({ type: BatchGetResultDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: TOO_MANY_MISSES, headers: RETRY_AFTER_HEADER })
  async readMany(@Body() body: BatchGetDto, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const waitSeconds = Math.min(body.waitSeconds ?? 0, this.query.waitMaxSeconds);
    const answer = await this.query.readMany(
      {
        webhookKeys: body.webhookKeys,
        etags: body.etags,
        wait: waitSeconds === 0 ? undefined : waitUntilGone(waitSeconds, reply.raw),
      },
      originOf(request),
    );
    await reply.header('content-type', JSON_CONTENT).send(answer);
  }
}

function originOf(request: FastifyRequest): ReadOrigin {
  return { socketAddress: request.socket.remoteAddress, forwardedFor: request.headers['x-forwarded-for'] };
}
