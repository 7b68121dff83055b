import { Module } from '@nestjs/common';
import { createSqsClient } from '../common/sqs-client';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { INGEST_SQS_CLIENT } from './ingest-queue';

/** The worker's SQS client, shared by the consumer (receives) and IngestQueue (deletes, dead-letter moves). */
@Module({
  providers: [
    {
      provide: INGEST_SQS_CLIENT,
      // A receive long-polls for up to SQS_WAIT_TIME_SECONDS; the request timeout leaves room for that.
      useFactory: (config: AppConfig) =>
        createSqsClient(config, { requestTimeoutMs: (config.sqs.waitTimeSeconds + 10) * 1000, maxAttempts: 3 }),
      inject: [APP_CONFIG],
    },
  ],
  exports: [INGEST_SQS_CLIENT],
})
export class IngestSqsModule {}
