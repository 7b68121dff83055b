/**
 * One queue of the test SQS in test/support/fifo-sqs-server.ts, with the delivery rules of real SQS FIFO queues:
 * a group's messages are delivered strictly in order, up to ten of one group in one receive, and no message of a
 * group is delivered while any message of it is in flight (received, and neither deleted nor visible again).
 * A message received more than the redrive policy's maxReceiveCount times is moved to the dead-letter queue when a
 * receive reaches it, as SQS does. Standard queues get the same code with every message a group of its own.
 */
import { createHash, randomUUID } from 'node:crypto';

/** A message attribute as the JSON protocol carries it (BinaryValue in base64). */
export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}
export type MessageAttributes = Record<string, MessageAttributeValue>;

/** SQS errors the SDK knows, with the status and awsQuery code it expects for each. */
const ERRORS = {
  QueueDoesNotExist: { status: 400, queryCode: 'AWS.SimpleQueueService.NonExistentQueue' },
  QueueNameExists: { status: 400, queryCode: 'QueueAlreadyExists' },
  ReceiptHandleIsInvalid: { status: 404, queryCode: 'ReceiptHandleIsInvalid' },
  MessageNotInflight: { status: 400, queryCode: 'AWS.SimpleQueueService.MessageNotInflight' },
  InvalidMessageContents: { status: 400, queryCode: 'InvalidMessageContents' },
  InvalidParameterValue: { status: 400, queryCode: 'InvalidParameterValue' },
  MissingParameter: { status: 400, queryCode: 'MissingParameter' },
  InvalidAction: { status: 400, queryCode: 'InvalidAction' },
  EmptyBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.EmptyBatchRequest' },
  TooManyEntriesInBatchRequest: { status: 400, queryCode: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest' },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct' },
  InvalidBatchEntryId: { status: 400, queryCode: 'AWS.SimpleQueueService.InvalidBatchEntryId' },
  /** Anything unforeseen: a bug of this server, not of the client. */
  InternalFailure: { status: 500, queryCode: 'InternalFailure' },
} as const;
export type SqsErrorCode = keyof typeof ERRORS;

/** A failure answered in the SDK's error shape; `code` names the exception class the SDK raises. */
export class SqsError extends Error {
  constructor(
    readonly code: SqsErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERRORS[this.code].status;
  }

  get queryCode(): string {
    return ERRORS[this.code].queryCode;
  }
}

const ACCOUNT_ID = '000000000000';
const REGION = 'us-east-1';
const DEDUPLICATION_WINDOW_MS = 5 * 60 * 1000;
export const MAX_MESSAGES_PER_RECEIVE = 10;
const DEFAULT_ATTRIBUTES: Record<string, string> = {
  VisibilityTimeout: '30',
  // SQS's limit since August 2025.
  MaximumMessageSize: '1048576',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};
/** The characters SQS accepts in a body; anything else (U+FFFE, U+FFFF, lone surrogates, most controls) is refused. */
const INVALID_BODY_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes: MessageAttributes;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string;
  readonly sentTimestamp: number;
  receiveCount: number;
  firstReceiveTimestamp: number | undefined;
  /** Set while the message is in flight; `visibleAt` is when it becomes visible again unless deleted. */
  inFlight: { receiptHandle: string; visibleAt: number } | undefined;
  deleted: boolean;
}

export type FindQueueByArn = (arn: string) => TestQueue | undefined;

export interface SendInput {
  body: string;
  messageAttributes: MessageAttributes;
  groupId: string | undefined;
  deduplicationId: string | undefined;
}

/** What the e2e suites read to show that a receive handed out several messages of one group. */
export interface ReceiveStats {
  receives: number;
  messagesReceived: number;
  /** The most messages of one group that a single receive handed out. */
  largestGroupBatch: number;
}

export class TestQueue {
  readonly arn: string;
  readonly url: string;
  readonly stats: ReceiveStats = { receives: 0, messagesReceived: 0, largestGroupBatch: 0 };
  /** Messages not deleted yet, in the order they were sent; they keep their place while in flight. */
  private messages: StoredMessage[] = [];
  /** Every receipt handle handed out, to tell an expired handle from one this queue never issued. */
  private readonly issuedHandles = new Map<string, StoredMessage>();
  /** Deduplication ids sent within the last five minutes, oldest first, with the message each one produced. */
  private readonly deduplication = new Map<string, { message: StoredMessage; expiresAt: number }>();
  private readonly waiters = new Set<() => void>();
  private lastSequenceNumber = 0n;

  constructor(
    readonly name: string,
    endpoint: string,
    readonly attributes: Record<string, string>,
  ) {
    this.arn = `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${name}`;
    this.url = `${endpoint}/${ACCOUNT_ID}/${name}`;
  }

  static create(name: string, endpoint: string, requested: Record<string, string>): TestQueue {
    const fifo = requested.FifoQueue === 'true';
    if (fifo !== name.endsWith('.fifo')) {
      throw new SqsError(
        'InvalidParameterValue',
        'The name of a FIFO queue must end with the .fifo suffix, and only its name.',
      );
    }
    const now = String(Math.floor(Date.now() / 1000));
    return new TestQueue(name, endpoint, {
      ...DEFAULT_ATTRIBUTES,
      ...requested,
      CreatedTimestamp: now,
      LastModifiedTimestamp: now,
    });
  }

  get fifo(): boolean {
    return this.attributes.FifoQueue === 'true';
  }

  /** Whether CreateQueue with these attributes names this queue again (SQS refuses different attributes). */
  hasAttributes(requested: Record<string, string>): boolean {
    return Object.entries(requested).every(([name, value]) => this.attributes[name] === value);
  }

  /** Stores a message, or returns the earlier one when its deduplication id was sent within five minutes. */
  send(input: SendInput): StoredMessage {
    this.validate(input);
    const now = Date.now();
    const deduplicationId = this.fifo ? this.deduplicationIdOf(input) : undefined;
    this.forgetExpiredDeduplication(now);
    const earlier = deduplicationId === undefined ? undefined : this.deduplication.get(deduplicationId);
    if (earlier) return earlier.message;
    const message = this.store({ ...input, deduplicationId }, now);
    if (deduplicationId !== undefined) {
      this.deduplication.set(deduplicationId, { message, expiresAt: now + DEDUPLICATION_WINDOW_MS });
    }
    return message;
  }

  /** Takes a message moved here from the queue whose dead-letter queue this is; redrive skips deduplication. */
  acceptDeadLetter(message: StoredMessage): void {
    this.store(message, message.sentTimestamp);
  }

  /**
   * Hands out up to `max` messages and puts them in flight for `visibilityTimeoutSeconds`. Groups are served in
   * the order of their oldest message; of each group not in flight, as many messages as fit, in order.
   */
  receive(max: number, visibilityTimeoutSeconds: number, findQueueByArn: FindQueueByArn): StoredMessage[] {
    const now = Date.now();
    this.releaseExpired(now);
    const redrive = this.redrivePolicy(findQueueByArn);
    const taken: StoredMessage[] = [];
    for (const group of this.groups().values()) {
      if (taken.length >= max) break;
      if (group.some((message) => message.inFlight)) continue;
      let takenOfGroup = 0;
      for (const message of group) {
        if (taken.length >= max) break;
        if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
          this.remove(message);
          redrive.deadLetterQueue.acceptDeadLetter(message);
          continue;
        }
        this.deliver(message, now, visibilityTimeoutSeconds);
        taken.push(message);
        takenOfGroup++;
      }
      this.stats.largestGroupBatch = Math.max(this.stats.largestGroupBatch, takenOfGroup);
    }
    this.stats.receives++;
    this.stats.messagesReceived += taken.length;
    return taken;
  }

  delete(receiptHandle: string): void {
    const message = this.inFlightMessage(receiptHandle);
    if (message) this.remove(message);
  }

  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): void {
    const message = this.inFlightMessage(receiptHandle);
    if (!message?.inFlight) throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    message.inFlight.visibleAt = Date.now() + visibilityTimeoutSeconds * 1000;
    this.notifyWaiters();
  }

  purge(): void {
    for (const message of this.messages) message.deleted = true;
    this.messages = [];
    this.notifyWaiters();
  }

  /** ApproximateNumberOfMessages and ApproximateNumberOfMessagesNotVisible, exact here. */
  counts(): { visible: number; inFlight: number } {
    this.releaseExpired(Date.now());
    const inFlight = this.messages.filter((message) => message.inFlight).length;
    return { visible: this.messages.length - inFlight, inFlight };
  }

  /**
   * Resolves when a receive may find something new: a message sent, deleted or made visible, or a visibility
   * timeout running out; at `deadline` at the latest, or at once when `signal` aborts.
   */
  async changed(deadline: number, signal: AbortSignal): Promise<void> {
    const expiries = this.messages.flatMap((message) => (message.inFlight ? [message.inFlight.visibleAt] : []));
    const wakeAt = Math.min(deadline, ...expiries);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, wakeAt - Date.now()));
      this.waiters.add(done);
      signal.addEventListener('abort', done);
    });
  }

  private validate(input: SendInput): void {
    if (input.body.length === 0)
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (INVALID_BODY_CHARACTER.test(input.body)) {
      throw new SqsError(
        'InvalidMessageContents',
        'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
      );
    }
    const size = Buffer.byteLength(input.body) + attributesSize(input.messageAttributes);
    const limit = Number(this.attributes.MaximumMessageSize);
    if (size > limit) {
      throw new SqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
      );
    }
    if (this.fifo && !input.groupId)
      throw new SqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
  }

  private deduplicationIdOf(input: SendInput): string {
    if (input.deduplicationId) return input.deduplicationId;
    if (this.attributes.ContentBasedDeduplication === 'true')
      return createHash('sha256').update(input.body).digest('hex');
    throw new SqsError(
      'InvalidParameterValue',
      'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
    );
  }

  private forgetExpiredDeduplication(now: number): void {
    for (const [id, entry] of this.deduplication) {
      if (entry.expiresAt > now) break;
      this.deduplication.delete(id);
    }
  }

  private store(
    input: Pick<StoredMessage, 'body' | 'messageAttributes' | 'groupId' | 'deduplicationId'> & { messageId?: string },
    sentTimestamp: number,
  ): StoredMessage {
    this.lastSequenceNumber++;
    const message: StoredMessage = {
      messageId: input.messageId ?? randomUUID(),
      body: input.body,
      md5OfBody: md5(Buffer.from(input.body)),
      messageAttributes: input.messageAttributes,
      groupId: this.fifo ? input.groupId : undefined,
      deduplicationId: input.deduplicationId,
      sequenceNumber: String(this.lastSequenceNumber).padStart(20, '0'),
      sentTimestamp,
      receiveCount: 0,
      firstReceiveTimestamp: undefined,
      inFlight: undefined,
      deleted: false,
    };
    this.messages.push(message);
    this.notifyWaiters();
    return message;
  }

  /** The messages of each group in order, groups in the order of their oldest message. */
  private groups(): Map<string, StoredMessage[]> {
    const groups = new Map<string, StoredMessage[]>();
    for (const message of this.messages) {
      const key = message.groupId ?? message.messageId;
      const group = groups.get(key);
      if (group) group.push(message);
      else groups.set(key, [message]);
    }
    return groups;
  }

  private redrivePolicy(
    findQueueByArn: FindQueueByArn,
  ): { deadLetterQueue: TestQueue; maxReceiveCount: number } | undefined {
    if (!this.attributes.RedrivePolicy) return undefined;
    const policy = JSON.parse(this.attributes.RedrivePolicy) as {
      deadLetterTargetArn?: string;
      maxReceiveCount?: unknown;
    };
    const deadLetterQueue = findQueueByArn(policy.deadLetterTargetArn ?? '');
    return deadLetterQueue && { deadLetterQueue, maxReceiveCount: Number(policy.maxReceiveCount) };
  }

  private deliver(message: StoredMessage, now: number, visibilityTimeoutSeconds: number): void {
    const receiptHandle = randomUUID();
    message.receiveCount++;
    message.firstReceiveTimestamp ??= now;
    message.inFlight = { receiptHandle, visibleAt: now + visibilityTimeoutSeconds * 1000 };
    this.issuedHandles.set(receiptHandle, message);
  }

  /**
   * The message a receipt handle names while that receive still holds it, or undefined when the message is gone
   * already (SQS answers a repeated delete with success). An older receipt handle of a message is expired.
   */
  private inFlightMessage(receiptHandle: string): StoredMessage | undefined {
    const message = this.issuedHandles.get(receiptHandle);
    if (!message) {
      throw new SqsError(
        'ReceiptHandleIsInvalid',
        `The input receipt handle "${receiptHandle}" is not a valid receipt handle.`,
      );
    }
    if (message.deleted) return undefined;
    this.releaseExpired(Date.now());
    if (message.inFlight?.receiptHandle !== receiptHandle) {
      throw new SqsError(
        'InvalidParameterValue',
        `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`,
      );
    }
    return message;
  }

  private releaseExpired(now: number): void {
    for (const message of this.messages) {
      if (message.inFlight && message.inFlight.visibleAt <= now) message.inFlight = undefined;
    }
  }

  private remove(message: StoredMessage): void {
    message.deleted = true;
    this.messages.splice(this.messages.indexOf(message), 1);
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

function md5(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('hex');
}

function attributeValueBytes(value: MessageAttributeValue): Buffer {
  return value.BinaryValue !== undefined
    ? Buffer.from(value.BinaryValue, 'base64')
    : Buffer.from(value.StringValue ?? '');
}

function attributesSize(attributes: MessageAttributes): number {
  return Object.entries(attributes).reduce(
    (sum, [name, value]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + attributeValueBytes(value).length,
    0,
  );
}

/** SQS's digest of message attributes: each one by name, as length-prefixed name, type, transport byte and value. */
export function md5OfMessageAttributes(attributes: MessageAttributes): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const parts: Buffer[] = [];
  const lengthPrefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    parts.push(length, bytes);
  };
  for (const name of names) {
    const value = attributes[name];
    lengthPrefixed(Buffer.from(name));
    lengthPrefixed(Buffer.from(value.DataType));
    parts.push(Buffer.from([value.BinaryValue !== undefined ? 2 : 1]));
    lengthPrefixed(attributeValueBytes(value));
  }
  return md5(Buffer.concat(parts));
}
