import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';

/**
 * Structured JSON logs through pino, each request line carrying Fastify's request id (see bootstrap.ts). Requests
 * are logged without headers, so API keys and webhook keys never reach a log;
 * successful requests log at debug so that the read path does not pay for a log line per request.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            base: { service: 'setgetapi' },
            // 503 is a dependency outage that readiness and metrics already show: a warning, not an error.
            customLogLevel: (_request, response, error) =>
              error || response.statusCode === 500
                ? 'error'
                : response.statusCode >= 500
                  ? 'warn'
                  : response.statusCode >= 400
                    ? 'info'
                    : 'debug',
            serializers: {
              req: (request: { id: string; method: string; url: string }) => ({
                id: request.id,
                method: request.method,
                url: request.url,
              }),
              res: (response: { statusCode: number }) => ({ statusCode: response.statusCode }),
              // pino-http invents an error for every 5xx; its stack points into pino-http and helps nobody.
              err: (error: Error) => ({ type: error.name, message: error.message }),
            },
          },
        }),
      ],
    };
  }
}
