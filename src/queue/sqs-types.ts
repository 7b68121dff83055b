/**
 * The SDK types other folders handle without calling SQS themselves: a received message, and the worker's client
 * that @ssut/nestjs-sqs receives with. Re-exported here so that only src/queue imports @aws-sdk/client-sqs.
 */
export type { Message as QueueMessage, SQSClient } from '@aws-sdk/client-sqs';
