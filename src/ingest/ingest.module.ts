import { DynamicModule, Module } from '@nestjs/common';
import { SqsModule } from '@ssut/nestjs-sqs';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { INGEST_SQS_CLIENT } from '../queue/ingest-queue';
import { SQSClient } from '../queue/sqs-types';
import { StoreModule } from '../store/store.module';
import { IngestConsumer, INGEST_CONSUMER } from './ingest.consumer';
import { IngestService } from './ingest.service';
import { BatchSettler } from './batch-settler';
import { WritePause } from './write-pause';
import { IngestPauseProbe } from './ingest-pause.probe';
import { DecisionRecorder } from './decision-recorder';

/** The worker: consumes the FIFO ingest queue and applies messages to Redis. */
@Module({})
export class IngestModule {
  /**
   * @param ttlPolicyModule the one TtlPolicyModule AppModule built, so TtlPolicyService is not instantiated twice
   * @param queueModule the one QueueModule AppModule built, receiving enabled: IngestQueue and the worker's client
   */
  static forRoot(ttlPolicyModule: DynamicModule, queueModule: DynamicModule): DynamicModule {
    return {
      module: IngestModule,
      imports: [
        StoreModule,
        ttlPolicyModule,
        queueModule,
        SqsModule.registerAsync({
          imports: [queueModule],
          inject: [APP_CONFIG, INGEST_SQS_CLIENT],
          useFactory: (config: AppConfig, sqs: SQSClient) => ({
            consumers: [
              {
                name: INGEST_CONSUMER,
                queueUrl: config.sqs.queueUrl,
                sqs,
                batchSize: config.sqs.batchSize,
                visibilityTimeout: config.sqs.visibilityTimeoutSeconds,
                waitTimeSeconds: config.sqs.waitTimeSeconds,
                messageSystemAttributeNames: [
                  'MessageGroupId',
                  'SentTimestamp',
                  'SequenceNumber',
                  'ApproximateReceiveCount',
                ],
                // A redriven message carries its origin (first id and send time) as message attributes.
                messageAttributeNames: ['All'],
                // Ordering is this service's job (IngestService); the library's FIFO warning does not apply.
                suppressFifoWarning: true,
              },
            ],
            // Shutdown aborts a long poll instead of waiting up to 20 s for it.
            globalStopOptions: { abort: true },
          }),
        }),
      ],
      providers: [IngestService, IngestConsumer, BatchSettler, WritePause, IngestPauseProbe, DecisionRecorder],
    };
  }
}
