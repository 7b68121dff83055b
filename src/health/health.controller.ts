import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { errorBody } from '../common/api-exception';
import { ErrorResponseDto } from '../common/error-response.dto';
import { ReadinessService } from './readiness.service';

@ApiTags('Operations')
// Node answers this for any route; documented here so that every operation names the client error it can get.
@ApiResponse({ status: 417, type: ErrorResponseDto, description: 'An Expect header other than 100-continue' })
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs', security: [] })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every dependency this process needs, probed now', security: [] })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { redis: { status: 'up' }, sqs: { status: 'up' } } } } })
  @ApiServiceUnavailableResponse({
    schema: {
      example: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Not ready: redis is down',
        status: 'error',
        checks: { redis: { status: 'down', message: 'no answer within 1500 ms' }, sqs: { status: 'up' } },
      },
    },
  })
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.readiness.check();
    if (report.ready) {
      void reply.send({ status: 'ok', checks: report.checks });
      return;
    }
    const down = Object.entries(report.checks)
      .filter(([, check]) => check.status === 'down')
      .map(([name]) => name);
    void reply.code(503).send({
      ...errorBody(503, `Not ready: ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down`),
      status: 'error',
      checks: report.checks,
    });
  }
}
