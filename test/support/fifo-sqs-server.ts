/**
 * A test-only SQS that delivers FIFO groups as real SQS does (see fifo-sqs-queue.ts): up to ten messages of one
 * group per receive. fauxqs, the e2e suites' usual SQS, hands out at most one message per group per receive, so
 * a worker's in-order handling of several messages of a group in one batch is never exercised on it.
 *
 * It speaks the AWS JSON 1.0 protocol of @aws-sdk/client-sqs v3 (POST /, `x-amz-target: AmazonSQS.<Action>`) and
 * answers errors in the shape the SDK turns into its exception classes (`__type`, `message`, and the awsQuery
 * code in `x-amzn-query-error`). Requests are not authenticated. `GET /stats/<queue name>` answers the queue's
 * ReceiveStats, for suites that assert they really received several messages of one group at once.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import {
  MAX_MESSAGES_PER_RECEIVE,
  md5OfMessageAttributes,
  MessageAttributes,
  MessageAttributeValue,
  SqsError,
  StoredMessage,
  TestQueue,
} from './fifo-sqs-queue';

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;
type Action = (input: Input, signal: AbortSignal) => Output | Promise<Output>;

const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
const MAX_BATCH_ENTRIES = 10;
const MAX_WAIT_TIME_SECONDS = 20;
const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
/** The message system attributes a receive can ask for; FIFO-only ones are left out for standard queues. */
const SYSTEM_ATTRIBUTES: Record<string, (message: StoredMessage) => string | undefined> = {
  SenderId: () => 'AIDATESTSENDER',
  SentTimestamp: (message) => String(message.sentTimestamp),
  ApproximateReceiveCount: (message) => String(message.receiveCount),
  ApproximateFirstReceiveTimestamp: (message) => String(message.firstReceiveTimestamp),
  MessageGroupId: (message) => message.groupId,
  MessageDeduplicationId: (message) => message.deduplicationId,
  SequenceNumber: (message) => (message.groupId === undefined ? undefined : message.sequenceNumber),
};

export class FifoSqsServer {
  private readonly queues = new Map<string, TestQueue>();
  private readonly actions: Record<string, Action> = {
    CreateQueue: (input) => this.createQueue(input),
    GetQueueUrl: (input) => ({ QueueUrl: this.queueNamed(requiredString(input, 'QueueName')).url }),
    GetQueueAttributes: (input) => ({
      Attributes: this.queueAttributes(this.queueAt(input), stringList(input, 'AttributeNames')),
    }),
    ListQueues: (input) => this.listQueues(input),
    PurgeQueue: (input) => {
      this.queueAt(input).purge();
      return {};
    },
    SendMessage: (input) => sendResult(this.queueAt(input).send(sendInput(input))),
    SendMessageBatch: (input) => {
      const queue = this.queueAt(input);
      return runBatch(input, (entry) => ({ Id: entry.Id, ...sendResult(queue.send(sendInput(entry))) }));
    },
    ReceiveMessage: (input, signal) => this.receiveMessage(input, signal),
    DeleteMessage: (input) => {
      this.queueAt(input).delete(requiredString(input, 'ReceiptHandle'));
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = this.queueAt(input);
      return runBatch(input, (entry) => {
        queue.delete(requiredString(entry, 'ReceiptHandle'));
        return { Id: entry.Id };
      });
    },
    ChangeMessageVisibility: (input) => {
      this.queueAt(input).changeVisibility(requiredString(input, 'ReceiptHandle'), visibilityTimeout(input));
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const queue = this.queueAt(input);
      return runBatch(input, (entry) => {
        queue.changeVisibility(requiredString(entry, 'ReceiptHandle'), visibilityTimeout(entry));
        return { Id: entry.Id };
      });
    },
  };

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {
    server.on('request', (request: IncomingMessage, response: ServerResponse) => void this.serve(request, response));
  }

  /** Listens on a free port of 127.0.0.1. */
  static async start(): Promise<FifoSqsServer> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    return new FifoSqsServer(server, `http://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    // A long poll whose client went away (a worker shutting down) must not put messages in flight for nobody.
    const abandoned = new AbortController();
    response.on('close', () => abandoned.abort());
    try {
      const statsOf = /^\/stats\/([^/?]+)$/.exec(request.url ?? '');
      const answer = statsOf
        ? this.queueNamed(decodeURIComponent(statsOf[1])).stats
        : await this.runAction(request, abandoned.signal);
      reply(response, 200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId }, answer);
    } catch (error) {
      const failure = error instanceof SqsError ? error : new SqsError('InternalFailure', String(error));
      const headers = {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': requestId,
        'x-amzn-query-error': `${failure.queryCode};${failure.status < 500 ? 'Sender' : 'Receiver'}`,
      };
      reply(response, failure.status, headers, {
        __type: `com.amazonaws.sqs#${failure.code}`,
        message: failure.message,
      });
    }
  }

  private async runAction(request: IncomingMessage, signal: AbortSignal): Promise<Output> {
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? this.actions[target.slice('AmazonSQS.'.length)] : undefined;
    if (request.method !== 'POST' || !action) {
      throw new SqsError('InvalidAction', `The action ${target} is not valid for this endpoint.`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const input = parseJson(Buffer.concat(chunks).toString() || '{}');
    if (!isRecord(input)) throw new SqsError('InvalidParameterValue', 'The request body must be a JSON object.');
    return action(input, signal);
  }

  private createQueue(input: Input): Output {
    const name = requiredString(input, 'QueueName');
    if (!QUEUE_NAME.test(name.replace(/\.fifo$/, ''))) {
      throw new SqsError(
        'InvalidParameterValue',
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    const attributes = stringMap(input, 'Attributes');
    const existing = this.queues.get(name);
    if (existing && !existing.hasAttributes(attributes)) {
      throw new SqsError(
        'QueueNameExists',
        'A queue already exists with the same name and a different value for attribute(s)',
      );
    }
    const queue = existing ?? TestQueue.create(name, this.endpoint, attributes);
    this.queues.set(name, queue);
    return { QueueUrl: queue.url };
  }

  private listQueues(input: Input): Output {
    const prefix = optionalString(input, 'QueueNamePrefix') ?? '';
    const urls = [...this.queues.values()].filter((queue) => queue.name.startsWith(prefix)).map((queue) => queue.url);
    return urls.length > 0 ? { QueueUrls: urls } : {};
  }

  private queueAttributes(queue: TestQueue, names: string[]): Record<string, string> {
    const { visible, inFlight } = queue.counts();
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: queue.arn,
      ApproximateNumberOfMessages: String(visible),
      ApproximateNumberOfMessagesNotVisible: String(inFlight),
      ApproximateNumberOfMessagesDelayed: '0',
    };
    if (names.includes('All')) return all;
    return Object.fromEntries(names.filter((name) => name in all).map((name) => [name, all[name]]));
  }

  /** Long-polls up to WaitTimeSeconds until the queue hands out at least one message. */
  private async receiveMessage(input: Input, signal: AbortSignal): Promise<Output> {
    const queue = this.queueAt(input);
    const max = optionalInteger(input, 'MaxNumberOfMessages', 1, MAX_MESSAGES_PER_RECEIVE) ?? 1;
    const waitSeconds =
      optionalInteger(input, 'WaitTimeSeconds', 0, MAX_WAIT_TIME_SECONDS) ??
      Number(queue.attributes.ReceiveMessageWaitTimeSeconds);
    const visibility =
      optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_SECONDS) ??
      Number(queue.attributes.VisibilityTimeout);
    const findQueueByArn = (arn: string) => [...this.queues.values()].find((candidate) => candidate.arn === arn);
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      if (signal.aborted) return {};
      const taken = queue.receive(max, visibility, findQueueByArn);
      if (taken.length > 0) return { Messages: taken.map((message) => receivedMessage(message, input)) };
      if (Date.now() >= deadline) return {};
      await queue.changed(deadline, signal);
    }
  }

  /** The queue a request's QueueUrl names; the URL's last path segment is the queue's name. */
  private queueAt(input: Input): TestQueue {
    const url = requiredString(input, 'QueueUrl');
    return this.queueNamed(url.slice(url.lastIndexOf('/') + 1));
  }

  private queueNamed(name: string): TestQueue {
    const queue = this.queues.get(name);
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }
}

function reply(response: ServerResponse, status: number, headers: Record<string, string>, body: object): void {
  if (response.destroyed) return;
  response.writeHead(status, headers).end(JSON.stringify(body));
}

function sendInput(input: Input) {
  return {
    body: requiredString(input, 'MessageBody'),
    messageAttributes: messageAttributes(input),
    groupId: optionalString(input, 'MessageGroupId'),
    deduplicationId: optionalString(input, 'MessageDeduplicationId'),
  };
}

function sendResult(message: StoredMessage): Output {
  return {
    MessageId: message.messageId,
    MD5OfMessageBody: message.md5OfBody,
    MD5OfMessageAttributes: md5OfMessageAttributes(message.messageAttributes),
    SequenceNumber: message.groupId === undefined ? undefined : message.sequenceNumber,
  };
}

/** A received message with the system attributes and message attributes the request asked for. */
function receivedMessage(message: StoredMessage, input: Input): Output {
  const wanted = [...stringList(input, 'AttributeNames'), ...stringList(input, 'MessageSystemAttributeNames')];
  const attributes = Object.fromEntries(
    Object.entries(SYSTEM_ATTRIBUTES).flatMap(([name, read]) => {
      const value = read(message);
      return (wanted.includes('All') || wanted.includes(name)) && value !== undefined ? [[name, value]] : [];
    }),
  );
  const wantedAttributes = stringList(input, 'MessageAttributeNames');
  const selected: MessageAttributes = Object.fromEntries(
    Object.entries(message.messageAttributes).filter(([name]) =>
      wantedAttributes.some((pattern) => attributeNameMatches(name, pattern)),
    ),
  );
  const hasSelected = Object.keys(selected).length > 0;
  return {
    MessageId: message.messageId,
    ReceiptHandle: message.inFlight?.receiptHandle,
    MD5OfBody: message.md5OfBody,
    Body: message.body,
    ...(Object.keys(attributes).length > 0 && { Attributes: attributes }),
    ...(hasSelected && { MessageAttributes: selected, MD5OfMessageAttributes: md5OfMessageAttributes(selected) }),
  };
}

/** `All` and `.*` select every attribute, `prefix.*` those under the prefix, anything else one name. */
function attributeNameMatches(name: string, pattern: string): boolean {
  if (pattern === 'All' || pattern === '.*') return true;
  return pattern.endsWith('.*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

/**
 * Runs `handle` on each entry of a batch request; an entry that fails is reported in Failed, as SQS does, while
 * a malformed batch fails as a whole.
 */
function runBatch(input: Input, handle: (entry: Input & { Id: string }) => Output): Output {
  const entries = input.Entries;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new SqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}.`,
    );
  }
  const checked = entries.map((entry: unknown) => {
    const id = isRecord(entry) ? entry.Id : undefined;
    if (!isRecord(entry) || typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw new SqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    return { ...entry, Id: id };
  });
  if (new Set(checked.map((entry) => entry.Id)).size !== checked.length) {
    throw new SqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries in the request have the same Id.');
  }
  const Successful: Output[] = [];
  const Failed: Output[] = [];
  for (const entry of checked) {
    try {
      Successful.push(handle(entry));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: true, Code: error.code, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new SqsError('InvalidParameterValue', 'The request body is not JSON.');
  }
}

function isRecord(value: unknown): value is Input {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SqsError('InvalidParameterValue', `${name} must be a string.`);
  return value;
}

function requiredString(input: Input, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined) throw new SqsError('MissingParameter', `The request must contain the parameter ${name}.`);
  return value;
}

function optionalInteger(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SqsError(
      'InvalidParameterValue',
      `Value ${JSON.stringify(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}.`,
    );
  }
  return value;
}

function visibilityTimeout(input: Input): number {
  const value = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
  if (value === undefined)
    throw new SqsError('MissingParameter', 'The request must contain the parameter VisibilityTimeout.');
  return value;
}

function stringList(input: Input, name: string): string[] {
  const value = input[name] ?? [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new SqsError('InvalidParameterValue', `${name} must be a list of strings.`);
  }
  return value;
}

function stringMap(input: Input, name: string): Record<string, string> {
  const value = input[name] ?? {};
  if (!isRecord(value) || !Object.values(value).every((item) => typeof item === 'string')) {
    throw new SqsError('InvalidParameterValue', `${name} must map names to strings.`);
  }
  return value as Record<string, string>;
}

function messageAttributes(input: Input): MessageAttributes {
  const value = input.MessageAttributes ?? {};
  if (!isRecord(value)) throw new SqsError('InvalidParameterValue', 'MessageAttributes must be a map.');
  for (const [name, attribute] of Object.entries(value)) {
    const valid =
      isRecord(attribute) &&
      typeof attribute.DataType === 'string' &&
      (typeof attribute.StringValue === 'string' || typeof attribute.BinaryValue === 'string');
    if (!valid) {
      throw new SqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain a DataType and a value.`,
      );
    }
  }
  return value as Record<string, MessageAttributeValue>;
}
