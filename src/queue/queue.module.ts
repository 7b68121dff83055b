import { DynamicModule, Module, Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DeadLetterQueue, DEAD_LETTER_SQS_CLIENT } from './dead-letter-queue';
import { IngestQueue, INGEST_SQS_CLIENT } from './ingest-queue';
import { RecordQueue, SENDING_SQS_CLIENT } from './record-queue';
import { createSqsClient } from './sqs-client';
import { SqsProbe } from './sqs.probe';

export interface QueueUses {
  /** The gateway sends records: RecordQueue. */
  sending: boolean;
  /** The worker receives (through @ssut/nestjs-sqs, with INGEST_SQS_CLIENT) and settles messages: IngestQueue. */
  receiving: boolean;
  /** Admin routes and the scheduler read, delete and redrive dead letters: DeadLetterQueue. */
  deadLetters: boolean;
}

const sendingProviders: Provider[] = [
  {
    provide: SENDING_SQS_CLIENT,
    // A producer is waiting: fail within a few seconds and let it retry (503 + Retry-After).
    useFactory: (config: AppConfig) => createSqsClient(config, { requestTimeoutMs: 3000, maxAttempts: 2 }),
    inject: [APP_CONFIG],
  },
  RecordQueue,
];

/** The worker's SQS client, shared by the consumer (receives) and IngestQueue (deletes, dead-letter moves). */
const receivingProviders: Provider[] = [
  {
    provide: INGEST_SQS_CLIENT,
    // A receive long-polls for up to SQS_WAIT_TIME_SECONDS; the request timeout leaves room for that.
    useFactory: (config: AppConfig) =>
      createSqsClient(config, { requestTimeoutMs: (config.sqs.waitTimeSeconds + 10) * 1000, maxAttempts: 3 }),
    inject: [APP_CONFIG],
  },
  IngestQueue,
];

const deadLetterProviders: Provider[] = [
  {
    provide: DEAD_LETTER_SQS_CLIENT,
    // A walk's receives are short polls or one-second long polls; an admin is waiting on some of them.
    useFactory: (config: AppConfig) => createSqsClient(config, { requestTimeoutMs: 5000, maxAttempts: 3 }),
    inject: [APP_CONFIG],
  },
  DeadLetterQueue,
];

/**
 * Everything this service does with SQS: the only folder that talks to it. Built once per process by AppModule
 * for the roles that use SQS and handed to the modules that need it, so each SQS client exists once; its
 * readiness probe is registered with it.
 */
@Module({})
export class QueueModule {
  static forRoot(uses: QueueUses): DynamicModule {
    return {
      module: QueueModule,
      providers: [
        ...(uses.sending ? sendingProviders : []),
        ...(uses.receiving ? receivingProviders : []),
        ...(uses.deadLetters ? deadLetterProviders : []),
        SqsProbe,
      ],
      exports: [
        ...(uses.sending ? [RecordQueue] : []),
        ...(uses.receiving ? [IngestQueue, INGEST_SQS_CLIENT] : []),
        ...(uses.deadLetters ? [DeadLetterQueue] : []),
      ],
    };
  }
}
