import 'reflect-metadata';
import * as cdk from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { decodeIngestMessage } from '../src/ingest/ingest-decoder';
import { deduplicationId, messageGroupId, sqsSafeJson, toQueueBody } from '../src/message/queue-body';
import { recordMessageJsonSchema } from '../src/message/record-message.schema';
import { validateRecordMessage } from '../src/message/record-message.validation';
import { renderMappingTemplate, VtlRequest } from './api-gateway-vtl';
import { ACCOUNT_MISMATCH_ACTION, INGEST_QUEUE_NAME, IngestApiStack } from './ingest-api-stack';

/**
 * The stack's VTL mapping templates executed (velocityjs, with API Gateway's $input, $util and $context emulated
 * by ./api-gateway-vtl.ts) on sample requests and SQS answers, and what they produce compared with what the
 * service's own gateway route does (src/gateway/gateway.service.ts, src/message/queue-body.ts) for the same
 * request. ingest-api-stack.spec.ts checks the templates' text; this checks their behaviour.
 */

type Resource = { Type: string; Properties: { [name: string]: unknown } };
const MAX_MESSAGE_BYTES = 262_144;

let requestTemplate: string;
let responseTemplates: { [status: string]: string };
let keyOf: { [accountId: string]: string };
let dedupScope: unknown;

/** Renders an Fn::Join / Ref tree to text, with `refs` standing in for deploy-time values. */
function renderTokens(value: unknown, refs: { [logicalId: string]: string }): string {
  if (typeof value === 'string') return value;
  const node = value as { 'Fn::Join'?: [string, unknown[]]; Ref?: string };
  if (node['Fn::Join']) return node['Fn::Join'][1].map((part) => renderTokens(part, refs)).join(node['Fn::Join'][0]);
  if (node.Ref !== undefined && refs[node.Ref] !== undefined) return refs[node.Ref];
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

beforeAll(async () => {
  const stack = new IngestApiStack(new cdk.App(), 'TemplatesTest', {
    recordMessageSchema: await recordMessageJsonSchema(),
    producers: [{ accountId: 'acme' }, { accountId: 'globex' }],
    maxMessageBytes: MAX_MESSAGE_BYTES,
  });
  const template = Template.fromStack(stack);
  const refs: { [logicalId: string]: string } = {};
  keyOf = {};
  for (const [id, key] of Object.entries(
    template.findResources('AWS::ApiGateway::ApiKey') as { [id: string]: Resource },
  )) {
    const accountId = /for account (\S+)$/.exec(String(key.Properties.Description))?.[1] ?? '';
    refs[id] = `key-id-${accountId}`;
    keyOf[accountId] = refs[id];
  }
  const [method] = Object.values(template.findResources('AWS::ApiGateway::Method') as { [id: string]: Resource });
  const integration = method.Properties.Integration as {
    RequestTemplates: { [type: string]: unknown };
    IntegrationResponses: Array<{ StatusCode: string; ResponseTemplates: { [type: string]: unknown } }>;
  };
  requestTemplate = renderTokens(integration.RequestTemplates['application/json'], refs);
  responseTemplates = Object.fromEntries(
    integration.IntegrationResponses.map((response) => [
      response.StatusCode,
      renderTokens(response.ResponseTemplates['application/json'], refs),
    ]),
  );
  const [queue] = Object.values(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: INGEST_QUEUE_NAME } }) as {
      [id: string]: Resource;
    },
  );
  dedupScope = queue.Properties.DeduplicationScope;
});

/** The SendMessage form API Gateway would POST to SQS for this request, decoded as SQS decodes it. */
function sqsRequest(request: VtlRequest): { [name: string]: string } {
  const { output } = renderMappingTemplate(requestTemplate, request);
  expect(output).not.toMatch(/\s$/);
  return Object.fromEntries(new URLSearchParams(output));
}

/** What the service's gateway route does with the same body, up to SQS (GatewayService.submit's steps). */
function serviceGateway(body: string, idempotencyKey?: string) {
  const check = validateRecordMessage({ text: body, value: JSON.parse(body) });
  if (!check.valid) throw new Error(JSON.stringify(check.problems));
  const groupId = messageGroupId(check.message);
  return {
    message: check.message,
    body: toQueueBody(check.message),
    groupId,
    dedupId: idempotencyKey === undefined ? undefined : deduplicationId(groupId, idempotencyKey),
  };
}

const BODIES = [
  '{"accountId":"acme","flowId":"orders","webhookKeys":["wh_7f3c9a1e2b4d"],"data":{"orderId":"A-1001"},"version":42}',
  // Field order, whitespace and escapes as a producer may write them; characters form encoding must escape.
  '{\n  "webhookKeys": ["wh-key-0001", "wh-key-0002"],\n  "flowId": "a.b_c-d",\n  "accountId": "acme",\n' +
    '  "data": {"q": "a+b=c&d=%20 e", "u": "ünïcödé ✓ 😀", "esc": "\\u0000\\n\\"\\\\/", "n": 1.50, "e": 1e3}\n}',
  '{"op":"delete","accountId":"acme","flowId":"orders","webhookKeys":["wh_7f3c9a1e2b4d"]}',
  '{"accountId":"acme","flowId":"f","webhookKeys":["wh-key-0001"],"data":"text with spaces and a %"}',
];

describe('request template', () => {
  it.each(BODIES.map((body) => [body]))(
    'sends SendMessage with the body byte for byte and MessageGroupId accountId:flowId: %s',
    (body) => {
      const sent = sqsRequest({ body, apiKeyId: keyOf.acme, requestId: 'req-1' });
      const service = serviceGateway(body);
      expect(Object.keys(sent).sort()).toEqual(['Action', 'MessageBody', 'MessageDeduplicationId', 'MessageGroupId']);
      expect(sent.Action).toBe('SendMessage');
      expect(Buffer.from(sent.MessageBody, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
      expect(sent.MessageGroupId).toBe(service.groupId);
      // The service writes a normalised body (toQueueBody), the API passes the producer's: the worker decodes both
      // to the same message.
      const fromApi = decodeIngestMessage(
        { Body: sent.MessageBody, Attributes: { MessageGroupId: sent.MessageGroupId } },
        MAX_MESSAGE_BYTES,
      );
      const fromService = decodeIngestMessage(
        { Body: service.body, Attributes: { MessageGroupId: service.groupId } },
        MAX_MESSAGE_BYTES,
      );
      expect(fromApi).toEqual({ ok: true, message: service.message });
      expect(fromService).toEqual(fromApi);
    },
  );

  it('deduplicates on Idempotency-Key (either header case), else on the request id, so a resend is queued again', () => {
    const body = BODIES[0];
    expect(
      sqsRequest({ body, apiKeyId: keyOf.acme, headers: { 'Idempotency-Key': 'order-A-1001' } }).MessageDeduplicationId,
    ).toBe('order-A-1001');
    expect(
      sqsRequest({ body, apiKeyId: keyOf.acme, headers: { 'idempotency-key': 'order-A-1001' } }).MessageDeduplicationId,
    ).toBe('order-A-1001');
    const first = sqsRequest({ body, apiKeyId: keyOf.acme, requestId: 'c0ffee-1' });
    const second = sqsRequest({ body, apiKeyId: keyOf.acme, requestId: 'c0ffee-2' });
    expect([first.MessageDeduplicationId, second.MessageDeduplicationId]).toEqual(['c0ffee-1', 'c0ffee-2']);
  });

  it("scopes Idempotency-Key to accountId:flowId as the service's deduplicationId does, through the queue's per-group scope", () => {
    // The service hashes the group into the id (fauxqs ignores DeduplicationScope); the API sends the key as it
    // is and the queue deduplicates per message group. Two sends are duplicates in one scheme iff in the other.
    expect(dedupScope).toBe('messageGroup');
    const sends = [
      { accountId: 'acme', flowId: 'orders', key: 'k-1' },
      { accountId: 'acme', flowId: 'orders', key: 'k-2' },
      { accountId: 'acme', flowId: 'invoices', key: 'k-1' },
      { accountId: 'globex', flowId: 'orders', key: 'k-1' },
    ].map(({ accountId, flowId, key }) => {
      const body = JSON.stringify({ accountId, flowId, webhookKeys: ['wh-key-0001'], data: 1 });
      const sent = sqsRequest({ body, apiKeyId: keyOf[accountId], headers: { 'Idempotency-Key': key } });
      const service = serviceGateway(body, key);
      return {
        api: `${sent.MessageGroupId}\n${sent.MessageDeduplicationId}`,
        service: `${service.groupId}\n${service.dedupId}`,
      };
    });
    for (const a of sends) {
      for (const b of sends) expect(a.api === b.api).toBe(a.service === b.service);
    }
    expect(new Set(sends.map(({ api }) => api)).size).toBe(sends.length);
  });

  it('passes an Idempotency-Key the service refuses on to SQS, whose own rule for the id refuses it (400 either way)', () => {
    // GatewayService: /^[\x21-\x7e]{1,128}$/ or 400. SQS: MessageDeduplicationId of 1 to 128 characters from
    // the same set (alphanumerics and punctuation), else InvalidParameterValue, which the 400 template answers.
    const sqsAccepts = (id: string) => /^[\x21-\x7e]{1,128}$/.test(id);
    for (const key of ['has space', 'x'.repeat(129), 'ünï']) {
      const sent = sqsRequest({ body: BODIES[0], apiKeyId: keyOf.acme, headers: { 'Idempotency-Key': key } });
      expect(sent.MessageDeduplicationId).toBe(key);
      expect(sqsAccepts(sent.MessageDeduplicationId)).toBe(false);
    }
    expect(
      sqsAccepts(
        sqsRequest({ body: BODIES[0], apiKeyId: keyOf.acme, requestId: '3f2b0c7e-1d2a-4c55-9f0e-5a1b2c3d4e5f' })
          .MessageDeduplicationId,
      ),
    ).toBe(true);
  });

  it("sends SQS an Action it refuses, and no message, when the key's account is not the body's", () => {
    const mismatch = sqsRequest({ body: BODIES[0], apiKeyId: keyOf.globex });
    expect(mismatch).toEqual({ Action: ACCOUNT_MISMATCH_ACTION });
    // A key bound to no account (added to the usage plan by hand) writes for none.
    expect(sqsRequest({ body: BODIES[0], apiKeyId: 'key-id-unbound' })).toEqual({ Action: ACCOUNT_MISMATCH_ACTION });
  });

  it('passes U+FFFF in data through raw, which SQS refuses (400); the service escapes it and queues (known difference)', () => {
    const body = `{"accountId":"acme","flowId":"f","webhookKeys":["wh-key-0001"],"data":"a\uffffb"}`;
    const sent = sqsRequest({ body, apiKeyId: keyOf.acme });
    expect(sent.MessageBody).toBe(body);
    expect(sqsSafeJson(sent.MessageBody)).not.toBe(sent.MessageBody);
    expect(serviceGateway(body).body).toContain('a\\uffffb');
  });
});

describe('integration response templates', () => {
  const sqsError = (code: string, message: string) =>
    JSON.stringify({ Error: { Code: code, Message: message, Type: 'Sender' }, RequestId: 'sqs-request-1' });
  const answer = (status: string, body: string, apiKeyId = keyOf.acme) => {
    const { output, statusOverride } = renderMappingTemplate(responseTemplates[status], { body, apiKeyId });
    return { status: statusOverride ?? Number(status), body: JSON.parse(output) as { [field: string]: unknown } };
  };

  it('answers 202 {messageId, sequenceNumber} from SendMessageResponse, as the service does', () => {
    const sqs = JSON.stringify({
      SendMessageResponse: {
        SendMessageResult: {
          MessageId: 'c6b0a7b8-0000-4000-8000-000000000001',
          SequenceNumber: '18877925236458000000',
          MD5OfMessageBody: 'x',
        },
        ResponseMetadata: { RequestId: 'r' },
      },
    });
    expect(answer('202', sqs)).toEqual({
      status: 202,
      body: { messageId: 'c6b0a7b8-0000-4000-8000-000000000001', sequenceNumber: '18877925236458000000' },
    });
  });

  it("turns SQS's refusal of the mismatch Action into 403, whatever status SQS gave it", () => {
    for (const status of ['400', '503']) {
      const refused = answer(
        status,
        sqsError('InvalidAction', `The action ${ACCOUNT_MISMATCH_ACTION} is not valid for this endpoint.`),
        keyOf.globex,
      );
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: expect.stringContaining('it writes for account globex only'),
      });
    }
  });

  it("answers a message over the queue's limit 413 with the service's message", () => {
    const tooLarge = sqsError(
      'InvalidParameterValue',
      `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`,
    );
    for (const status of ['400', '503']) {
      // GatewayService: ApiException(413, `The message is larger than ${maxMessageBytes} bytes`).
      expect(answer(status, tooLarge)).toEqual({
        status: 413,
        body: {
          statusCode: 413,
          error: 'Payload Too Large',
          message: `The message is larger than ${MAX_MESSAGE_BYTES} bytes`,
        },
      });
    }
  });

  it("answers another refusal 400 'SQS refused the message: <reason>', valid JSON whatever the reason holds", () => {
    const reason = `Value "bad id" for parameter MessageDeduplicationId is invalid. Reason: it's got a space\nand 'quotes' \\ ü`;
    expect(answer('400', sqsError('InvalidParameterValue', reason))).toEqual({
      status: 400,
      body: { statusCode: 400, error: 'Bad Request', message: `SQS refused the message: ${reason}` },
    });
    // An XML (non-JSON) answer: no reason, still JSON.
    expect(answer('400', '<ErrorResponse><Error><Code>X</Code></Error></ErrorResponse>').body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'SQS refused the message: ',
    });
  });

  it("answers every other SQS error 503 with the service's message", () => {
    expect(answer('503', sqsError('ServiceUnavailable', 'try later'))).toEqual({
      status: 503,
      body: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The ingest queue cannot be reached; retry later',
      },
    });
  });
});
