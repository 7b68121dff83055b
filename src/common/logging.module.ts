import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig } from '../config/app-config';
import { createLogger } from './logging';

/**
 * nestjs-pino makes the service's pino logger Nest's logger, so every `new Logger(context)` writes JSON. Its
 * per-request middleware is not applied (no routes): on Node 20 its AsyncLocalStorage binding slows every promise
 * in the process, which cost the read path a third of its throughput in bench/query.ts. Error answers are logged
 * by HttpErrorFilter instead.
 */
@Module({})
export class LoggingModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: LoggingModule,
      imports: [LoggerModule.forRoot({ pinoHttp: { logger: createLogger(config) }, forRoutes: [] })],
    };
  }
}
