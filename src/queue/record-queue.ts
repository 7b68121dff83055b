import { SendMessageCommand, SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { DependencyUnavailableError } from '../common/dependency-unavailable.error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const SENDING_SQS_CLIENT = Symbol('SENDING_SQS_CLIENT');

export interface QueuedMessage {
  messageId: string;
  sequenceNumber?: string;
}

/** SQS refused the message itself; sending it again would fail the same way. */
export class MessageRefusedError extends Error {}

const REFUSED = new Set(['InvalidMessageContents', 'InvalidParameterValue']);

/**
 * The ingest queue as the gateway sees it: a place to send a message, nothing else. A refused message rejects with
 * MessageRefusedError; SQS unreachable or failing on its side with DependencyUnavailableError (the producer should
 * retry later).
 */
@Injectable()
export class RecordQueue implements OnApplicationShutdown {
  constructor(
    @Inject(SENDING_SQS_CLIENT) private readonly sqs: SQSClient,
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
      return {
        messageId: result.MessageId ?? '',
        ...(result.SequenceNumber && { sequenceNumber: result.SequenceNumber }),
      };
    } catch (error) {
      if (error instanceof SQSServiceException && REFUSED.has(error.name)) throw new MessageRefusedError(error.message);
      throw new DependencyUnavailableError('SQS', error);
    }
  }

  onApplicationShutdown(): void {
    this.sqs.destroy();
  }
}
