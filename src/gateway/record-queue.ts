import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const GATEWAY_SQS_CLIENT = Symbol('GATEWAY_SQS_CLIENT');

export interface QueuedMessage {
  messageId: string;
  sequenceNumber?: string;
}

/** SQS refused the message itself; sending it again would fail the same way. */
export class MessageRefusedError extends Error {}

/** SQS could not be reached or failed on its side; the producer should retry later. */
export class QueueUnavailableError extends Error {}

const REFUSED = new Set(['InvalidMessageContents', 'InvalidParameterValue']);

/** The ingest queue as the gateway sees it: a place to send a message, nothing else. */
@Injectable()
export class RecordQueue implements OnApplicationShutdown {
  constructor(
    @Inject(GATEWAY_SQS_CLIENT) private readonly sqs: SQSClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async send(body: string, groupId: string, deduplicationId: string): Promise<QueuedMessage> {
    try {
      const result = await this.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.config.sqs.queueUrl,
          MessageBody: body,
          MessageGroupId: groupId,
          MessageDeduplicationId: deduplicationId,
        }),
      );
      return { messageId: result.MessageId ?? '', ...(result.SequenceNumber && { sequenceNumber: result.SequenceNumber }) };
    } catch (error) {
      if (error instanceof SQSServiceException && REFUSED.has(error.name)) throw new MessageRefusedError(error.message);
      throw new QueueUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}
