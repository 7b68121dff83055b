import { Module } from '@nestjs/common';
import { createSqsClient } from '../common/sqs-client';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { GatewayController } from './gateway.controller';
import { GatewayService } from './gateway.service';
import { GATEWAY_SQS_CLIENT, RecordQueue } from './record-queue';

/** POST /v1/records: the API Gateway's job when running without AWS. Needs SQS only, never Redis. */
@Module({
  controllers: [GatewayController],
  providers: [
    {
      provide: GATEWAY_SQS_CLIENT,
      // A producer is waiting: fail within a few seconds and let it retry (503 + Retry-After).
      useFactory: (config: AppConfig) => createSqsClient(config, { requestTimeoutMs: 3000, maxAttempts: 2 }),
      inject: [APP_CONFIG],
    },
    RecordQueue,
    GatewayService,
  ],
})
export class GatewayModule {}
