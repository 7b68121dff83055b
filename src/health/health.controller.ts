import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { errorBody } from '../common/api-exception';
import { ReadinessService } from './readiness.service';

@ApiTags('Operations')
@Controller('health')
export class HealthController {
  constructor(private readonly readiness: ReadinessService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: 200 while the process runs' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: every dependency this process needs, probed now' })
  @ApiOkResponse({ schema: { example: { status: 'ok', checks: { redis: { status: 'up' }, sqs: { status: 'up' } } } } })
  @ApiServiceUnavailableResponse({
    schema: {
      example: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'Not ready: redis is down',
        status: 'error',
        checks: { redis: { status: 'down', message: 'Redis PING: no answer within 1500 ms' }, sqs: { status: 'up' } },
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
    void reply
      .code(503)
      .send({ ...errorBody(503, `Not ready: ${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down`), status: 'error', checks: report.checks });
  }
}
