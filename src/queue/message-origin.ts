import { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/**
 * Message attributes that carry a message's origin through a move to the dead-letter queue and a redrive back to
 * the ingest queue, where SQS gives the copy a new id, send time and place. Also the reason a dead letter carries.
 */
export const ATTRIBUTE = {
  messageId: 'originalMessageId',
  sentAt: 'originalSentAt',
  groupId: 'originalGroupId',
  sequenceNumber: 'originalSequenceNumber',
  errorCode: 'errorCode',
  errorMessage: 'errorMessage',
  deadLetteredAt: 'deadLetteredAt',
  receiveCount: 'receiveCount',
  redriveJobId: 'redriveJobId',
} as const;

/** Where a received message started: the id POST /v1/records answered, its first send time and place. */
export interface MessageOrigin {
  messageId: string;
  /** Unix ms; null when SQS did not say. */
  sentAt: number | null;
  groupId: string | null;
  sequenceNumber: string | null;
  /** Sent again from the dead-letter queue by a redrive job. */
  redriven: boolean;
}

/**
 * The origin of a message received from the ingest queue. A copy made by this service (a dead letter, a redriven
 * message) carries its origin as attributes; a redriven message without `originalSentAt` has an unknown send time,
 * never its own SentTimestamp (the time of the redrive).
 */
export function originOf(message: Message): MessageOrigin {
  const redriven = attribute(message, ATTRIBUTE.redriveJobId) !== undefined;
  return {
    messageId: attribute(message, ATTRIBUTE.messageId) ?? message.MessageId ?? '',
    sentAt: unixMs(attribute(message, ATTRIBUTE.sentAt) ?? (redriven ? undefined : message.Attributes?.SentTimestamp)),
    groupId: attribute(message, ATTRIBUTE.groupId) ?? message.Attributes?.MessageGroupId ?? null,
    sequenceNumber: attribute(message, ATTRIBUTE.sequenceNumber) ?? message.Attributes?.SequenceNumber ?? null,
    redriven,
  };
}

/**
 * The origin of a message received from the dead-letter queue. One that SQS moved there itself carries no origin
 * attributes, and SQS resets a FIFO message's send time when it moves it: its first send time is unknown.
 */
export function deadLetterOriginOf(message: Message): MessageOrigin {
  return { ...originOf(message), sentAt: unixMs(attribute(message, ATTRIBUTE.sentAt)) };
}

function unixMs(text: string | undefined): number | null {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) && value > 0 ? value : null;
}

/** The string value of a message attribute, undefined when absent. */
export function attribute(message: Message, name: string): string | undefined {
  return message.MessageAttributes?.[name]?.StringValue;
}

export function textAttribute(value: string): MessageAttributeValue {
  // SQS refuses an empty attribute value.
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}

/** The attributes that keep a message's origin on a copy of it. */
export function originAttributes(origin: MessageOrigin): Record<string, MessageAttributeValue> {
  return {
    [ATTRIBUTE.messageId]: textAttribute(origin.messageId),
    ...(origin.sentAt !== null && { [ATTRIBUTE.sentAt]: textAttribute(String(origin.sentAt)) }),
    ...(origin.groupId !== null && { [ATTRIBUTE.groupId]: textAttribute(origin.groupId) }),
    ...(origin.sequenceNumber !== null && { [ATTRIBUTE.sequenceNumber]: textAttribute(origin.sequenceNumber) }),
  };
}

/** Why and when a message was dead-lettered, as its copy in the dead-letter queue carries it. */
export interface DeadLetterReason {
  errorCode: string;
  errorMessage: string;
  /** Unix ms. */
  deadLetteredAt: number;
  receiveCount: number;
}

/** The attributes of a dead letter: its origin and its reason (DeadLetterQueue reads them back, deadLetterOf). */
export function deadLetterAttributes(
  origin: MessageOrigin,
  reason: DeadLetterReason,
): Record<string, MessageAttributeValue> {
  return {
    ...originAttributes(origin),
    [ATTRIBUTE.errorCode]: textAttribute(reason.errorCode),
    [ATTRIBUTE.errorMessage]: textAttribute(reason.errorMessage),
    [ATTRIBUTE.deadLetteredAt]: textAttribute(String(reason.deadLetteredAt)),
    [ATTRIBUTE.receiveCount]: textAttribute(String(reason.receiveCount)),
  };
}
