import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DependencyProbe, ReadinessProbe } from '../health/dependency-probe';
import { createSqsClient } from './sqs-client';

/** SQS is ready when the ingest queue answers GetQueueAttributes. */
@Injectable()
@ReadinessProbe()
export class SqsProbe implements DependencyProbe, OnApplicationShutdown {
  readonly name = 'sqs';
  readonly required = true;
  private readonly sqs: SQSClient;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.sqs = createSqsClient(config, { requestTimeoutMs: 1500, maxAttempts: 1 });
  }

  async check(timeoutMs: number): Promise<void> {
    await this.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.config.sqs.queueUrl, AttributeNames: ['QueueArn'] }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
  }

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}
