import 'reflect-metadata';
import * as cdk from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { recordMessageJsonSchema } from '../src/message/record-message.schema';
import {
  ACCOUNT_MISMATCH_ACTION,
  DEAD_LETTER_QUEUE_NAME,
  INGEST_QUEUE_NAME,
  IngestApiStack,
  IngestApiStackProps,
  RETRY_AFTER_SECONDS,
} from './ingest-api-stack';
import { JsonSchemaDocument, toApiGatewayJsonSchema } from './json-schema';

type Resource = { Type: string; Properties: { [name: string]: unknown } };

const PRODUCERS = [{ accountId: 'acme' }, { accountId: 'globex.eu' }, { accountId: 'acme', name: 'acme-rotated' }];

let schema: JsonSchemaDocument;
let template: Template;

function synth(props: Partial<IngestApiStackProps> = {}): Template {
  const stack = new IngestApiStack(new cdk.App(), 'IngestTest', {
    recordMessageSchema: schema,
    producers: PRODUCERS,
    ...props,
  });
  return Template.fromStack(stack);
}

function only(resources: { [id: string]: Resource }): [string, Resource] {
  const entries = Object.entries(resources);
  expect(entries).toHaveLength(1);
  return entries[0];
}

function logicalId(type: string, props: object = {}): string {
  return only(template.findResources(type, { Properties: props }) as { [id: string]: Resource })[0];
}

/** Renders an Fn::Join / Ref tree to text, with `refs` standing in for deploy-time values. */
function render(value: unknown, refs: { [logicalId: string]: string }): string {
  if (typeof value === 'string') return value;
  const node = value as { 'Fn::Join'?: [string, unknown[]]; Ref?: string; 'Fn::GetAtt'?: [string, string] };
  if (node['Fn::Join']) {
    const [separator, parts] = node['Fn::Join'];
    return parts.map((part) => render(part, refs)).join(separator);
  }
  if (node.Ref !== undefined && refs[node.Ref] !== undefined) return refs[node.Ref];
  const attribute = node['Fn::GetAtt']?.join('.');
  if (attribute !== undefined && refs[attribute] !== undefined) return refs[attribute];
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

function postMethod(): Resource {
  return only(
    template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'POST' } }) as {
      [id: string]: Resource;
    },
  )[1];
}

/** Each producer key's logical id → a made-up key id, and the account that key is bound to. */
function fakeKeyIds(): { refs: { [logicalId: string]: string }; accountOfKeyId: { [keyId: string]: string } } {
  const keys = template.findResources('AWS::ApiGateway::ApiKey') as { [id: string]: Resource };
  const refs: { [logicalId: string]: string } = {};
  const accountOfKeyId: { [keyId: string]: string } = {};
  for (const [id, key] of Object.entries(keys)) {
    const accountId = /for account (\S+)$/.exec(String(key.Properties.Description))?.[1] ?? '';
    refs[id] = `key-id-${Object.keys(refs).length}`;
    accountOfKeyId[refs[id]] = accountId;
  }
  return { refs, accountOfKeyId };
}

beforeAll(async () => {
  schema = await recordMessageJsonSchema();
  template = synth({ maxReceiveCount: 7 });
});

describe('queues', () => {
  it('has a FIFO dead-letter queue keeping messages 14 days, SQS-managed SSE', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: DEAD_LETTER_QUEUE_NAME,
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it('has a FIFO ingest queue, 30 s visibility, SSE, redriven to the DLQ after maxReceiveCount receives', () => {
    const dlq = logicalId('AWS::SQS::Queue', { QueueName: DEAD_LETTER_QUEUE_NAME });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: INGEST_QUEUE_NAME,
      FifoQueue: true,
      ContentBasedDeduplication: false,
      VisibilityTimeout: 30,
      SqsManagedSseEnabled: true,
      MaximumMessageSize: 262144,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 7 },
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('defaults maxReceiveCount to 5', () => {
    synth().hasResourceProperties('AWS::SQS::Queue', {
      QueueName: INGEST_QUEUE_NAME,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }),
    });
  });
});

describe('POST /v1/records', () => {
  it('is the one method, on /v1/records, with an API key required and the body validated', () => {
    const v1 = logicalId('AWS::ApiGateway::Resource', { PathPart: 'v1' });
    const records = logicalId('AWS::ApiGateway::Resource', { PathPart: 'records', ParentId: { Ref: v1 } });
    const validator = logicalId('AWS::ApiGateway::RequestValidator');
    const model = logicalId('AWS::ApiGateway::Model');
    template.resourceCountIs('AWS::ApiGateway::Method', 1);
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      ResourceId: { Ref: records },
      ApiKeyRequired: true,
      AuthorizationType: 'NONE',
      RequestValidatorId: { Ref: validator },
      RequestModels: { 'application/json': { Ref: model } },
    });
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
  });

  it('validates with a model whose schema is exactly the one generated from RecordMessageDto', async () => {
    const [, model] = only(template.findResources('AWS::ApiGateway::Model') as { [id: string]: Resource });
    expect(model.Properties.ContentType).toBe('application/json');
    expect(model.Properties.Schema).toEqual(await recordMessageJsonSchema());
    // Not vacuous: the generated schema carries the contract's rules.
    expect(model.Properties.Schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      additionalProperties: false,
      required: ['accountId', 'flowId', 'webhookKeys'],
    });
  });

  it('sends to the ingest queue through SQS SendMessage, form-encoded, with the least-privilege role', () => {
    const queue = logicalId('AWS::SQS::Queue', { QueueName: INGEST_QUEUE_NAME });
    const role = logicalId('AWS::IAM::Role');
    const integration = postMethod().Properties.Integration as { [name: string]: unknown };
    expect(integration).toMatchObject({
      Type: 'AWS',
      IntegrationHttpMethod: 'POST',
      PassthroughBehavior: 'NEVER',
      Credentials: { 'Fn::GetAtt': [role, 'Arn'] },
      RequestParameters: { 'integration.request.header.Content-Type': "'application/x-www-form-urlencoded'" },
    });
    const uri = render(integration.Uri, {
      'AWS::Partition': 'aws',
      'AWS::Region': 'eu-west-1',
      'AWS::AccountId': '123456789012',
      [`${queue}.QueueName`]: INGEST_QUEUE_NAME,
    });
    expect(uri).toBe(`arn:aws:apigateway:eu-west-1:sqs:path/123456789012/${INGEST_QUEUE_NAME}`);
  });

  describe('request template', () => {
    let vtl: string;
    let accountOfKeyId: { [keyId: string]: string };

    beforeAll(() => {
      const fake = fakeKeyIds();
      accountOfKeyId = fake.accountOfKeyId;
      const integration = postMethod().Properties.Integration as { RequestTemplates: { [type: string]: unknown } };
      expect(Object.keys(integration.RequestTemplates)).toEqual(['application/json']);
      vtl = render(integration.RequestTemplates['application/json'], fake.refs);
    });

    it('sends the URL-encoded body with MessageGroupId accountId:flowId taken from the body', () => {
      expect(vtl).toContain("#set($accountId = $input.path('$.accountId'))");
      expect(vtl).toContain("#set($flowId = $input.path('$.flowId'))");
      expect(vtl).toContain(
        'Action=SendMessage&MessageBody=$util.urlEncode($input.body)&MessageGroupId=$util.urlEncode("$accountId:$flowId")&',
      );
    });

    it('deduplicates on the Idempotency-Key header, else on the request id', () => {
      expect(vtl).toContain(`#set($idempotencyKey = "$!input.params().header.get('Idempotency-Key')")`);
      expect(vtl).toContain('#if($idempotencyKey == "")#set($idempotencyKey = $context.requestId)#{end}');
      expect(vtl).toContain('&MessageDeduplicationId=$util.urlEncode($idempotencyKey)#{else}');
    });

    it("binds each producer key's id to its account and sends only when the body's accountId is that account", () => {
      const map = Object.entries(accountOfKeyId).map(([keyId, accountId]) => `"${keyId}": "${accountId}"`);
      expect(vtl.startsWith(`#set($accountOfKey = {${map.join(', ')}})`)).toBe(true);
      expect(Object.values(accountOfKeyId).sort()).toEqual(['acme', 'acme', 'globex.eu']);
      expect(vtl).toContain('#set($boundAccount = "$!accountOfKey.get($context.identity.apiKeyId)")');
      expect(vtl).toMatch(/#if\(\$boundAccount != "" && \$boundAccount == \$accountId\)Action=SendMessage&/);
      expect(vtl).toContain(`#{else}Action=${ACCOUNT_MISMATCH_ACTION}#{end}`);
    });

    it('is one line, and no directive runs into the text after it', () => {
      expect(vtl).not.toContain('\n');
      expect(vtl).not.toMatch(/#(else|end|elseif)[A-Za-z&]/);
    });
  });

  describe('integration responses', () => {
    type IntegrationResponse = {
      StatusCode: string;
      SelectionPattern?: string;
      ResponseParameters?: { [name: string]: string };
      ResponseTemplates: { [type: string]: unknown };
    };
    let responses: IntegrationResponse[];
    let refs: { [logicalId: string]: string };

    beforeAll(() => {
      responses = (postMethod().Properties.Integration as { IntegrationResponses: IntegrationResponse[] })
        .IntegrationResponses;
      refs = fakeKeyIds().refs;
    });

    const byStatus = (status: string) => responses.find((response) => response.StatusCode === status);
    const selects = (pattern: string | undefined, status: number) =>
      pattern !== undefined && new RegExp(`^(?:${pattern})$`).test(String(status));

    it('answers a sent message 202 {messageId, sequenceNumber} from the SendMessageResponse', () => {
      const accepted = byStatus('202');
      expect(accepted?.SelectionPattern).toBeUndefined();
      const vtl = render(accepted?.ResponseTemplates['application/json'], refs);
      expect(vtl).toContain("$input.path('$.SendMessageResponse.SendMessageResult')");
      expect(vtl).toContain('"messageId":"$result.MessageId"');
      expect(vtl).toContain('"sequenceNumber":"$result.SequenceNumber"');
    });

    it('selects SQS status codes without overlap: 400 refused, every other 4xx and 5xx unavailable', () => {
      const refused = byStatus('400')?.SelectionPattern;
      const unavailable = byStatus('503')?.SelectionPattern;
      expect(selects(refused, 400)).toBe(true);
      expect(selects(unavailable, 400)).toBe(false);
      for (const status of [401, 403, 404, 413, 429, 500, 502, 503]) {
        expect([status, selects(unavailable, status), selects(refused, status)]).toEqual([status, true, false]);
      }
      for (const status of [200, 202]) expect(selects(unavailable, status) || selects(refused, status)).toBe(false);
    });

    it('answers SQS errors 503 with Retry-After', () => {
      expect(byStatus('503')?.ResponseParameters).toEqual({
        'method.response.header.Retry-After': `'${RETRY_AFTER_SECONDS}'`,
      });
      expect(render(byStatus('503')?.ResponseTemplates['application/json'], refs)).toContain(
        '{"statusCode":503,"error":"Service Unavailable","message":"The ingest queue cannot be reached; retry later"}',
      );
    });

    it("turns SQS's refusal of the account-mismatch request into 403, whatever status SQS gave it", () => {
      for (const status of ['400', '503']) {
        const vtl = render(byStatus(status)?.ResponseTemplates['application/json'], refs);
        expect(vtl).toContain(
          `#if($sqsError.contains('InvalidAction') || $sqsError.contains('${ACCOUNT_MISMATCH_ACTION}'))`,
        );
        expect(vtl).toContain('#set($context.responseOverride.status = 403)');
        expect(vtl).toContain(
          '{"statusCode":403,"error":"Forbidden","message":"This x-api-key may not write for the accountId',
        );
      }
    });

    it('declares every status the method answers, with Retry-After on 503', () => {
      const statuses = (postMethod().Properties.MethodResponses as Array<{ StatusCode: string }>).map(
        (r) => r.StatusCode,
      );
      expect(statuses.sort()).toEqual(['202', '400', '403', '413', '503']);
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        MethodResponses: Match.arrayWith([
          { StatusCode: '503', ResponseParameters: { 'method.response.header.Retry-After': true } },
        ]),
      });
    });
  });
});

describe('gateway responses', () => {
  const expected: Array<[type: string, status: number, error: string]> = [
    ['BAD_REQUEST_BODY', 400, 'Bad Request'],
    ['INVALID_API_KEY', 401, 'Unauthorized'],
    ['ACCESS_DENIED', 401, 'Unauthorized'],
    ['REQUEST_TOO_LARGE', 413, 'Payload Too Large'],
    ['INTEGRATION_FAILURE', 503, 'Service Unavailable'],
    ['INTEGRATION_TIMEOUT', 503, 'Service Unavailable'],
  ];

  it.each(expected)('%s answers %d in the JSON error shape', (type, status, error) => {
    const [, response] = only(
      template.findResources('AWS::ApiGateway::GatewayResponse', { Properties: { ResponseType: type } }) as {
        [id: string]: Resource;
      },
    );
    expect(response.Properties.StatusCode).toBe(String(status));
    const body = (response.Properties.ResponseTemplates as { [type: string]: string })['application/json'];
    // API Gateway substitutes these; messageString arrives quoted, validationErrorString is placed inside quotes.
    const rendered = body
      .replace('$context.error.validationErrorString', 'instance failed to match')
      .replace('$context.error.messageString', '"Forbidden"');
    expect(JSON.parse(rendered)).toEqual({ statusCode: status, error, message: expect.any(String) });
  });

  it('puts the validation error in the 400 message', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      ResponseTemplates: {
        'application/json': '{"statusCode":400,"error":"Bad Request","message":"$context.error.validationErrorString"}',
      },
    });
  });

  it('every gateway response is JSON with statusCode, error and message', () => {
    const responses = Object.values(
      template.findResources('AWS::ApiGateway::GatewayResponse') as { [id: string]: Resource },
    );
    expect(responses.length).toBeGreaterThanOrEqual(expected.length);
    for (const response of responses) {
      const body = (response.Properties.ResponseTemplates as { [type: string]: string })['application/json'];
      const status = String(response.Properties.StatusCode);
      expect(body).toMatch(new RegExp(`^\\{"statusCode":${status},"error":"[A-Za-z ]+","message":`));
    }
  });

  it('asks a producer to retry later when SQS cannot be reached', () => {
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INTEGRATION_FAILURE',
      ResponseParameters: { 'gatewayresponse.header.Retry-After': `'${RETRY_AFTER_SECONDS}'` },
    });
  });
});

describe('IAM', () => {
  it('has one role, assumed by API Gateway, allowed exactly sqs:SendMessage on the ingest queue', () => {
    const queue = logicalId('AWS::SQS::Queue', { QueueName: INGEST_QUEUE_NAME });
    const [roleId, role] = only(template.findResources('AWS::IAM::Role') as { [id: string]: Resource });
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' } }],
    });
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const [, policy] = only(template.findResources('AWS::IAM::Policy') as { [id: string]: Resource });
    expect(policy.Properties.Roles).toEqual([{ Ref: roleId }]);
    expect(policy.Properties.PolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sqs:SendMessage', Effect: 'Allow', Resource: { 'Fn::GetAtt': [queue, 'Arn'] } }],
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('usage plan', () => {
  it('has one generated API key per producer, each in the usage plan of the deployed stage', () => {
    const keys = template.findResources('AWS::ApiGateway::ApiKey') as { [id: string]: Resource };
    expect(Object.keys(keys)).toHaveLength(PRODUCERS.length);
    for (const key of Object.values(keys)) {
      expect(key.Properties.Value).toBeUndefined();
      expect(key.Properties.Enabled).toBe(true);
    }
    const [planId, plan] = only(template.findResources('AWS::ApiGateway::UsagePlan') as { [id: string]: Resource });
    const api = logicalId('AWS::ApiGateway::RestApi');
    const stage = logicalId('AWS::ApiGateway::Stage');
    expect(plan.Properties.ApiStages).toEqual([
      expect.objectContaining({ ApiId: { Ref: api }, Stage: { Ref: stage } }),
    ]);
    const planKeys = Object.values(
      template.findResources('AWS::ApiGateway::UsagePlanKey') as { [id: string]: Resource },
    );
    expect(planKeys.map((planKey) => planKey.Properties.UsagePlanId)).toEqual(PRODUCERS.map(() => ({ Ref: planId })));
    expect(planKeys.map((planKey) => planKey.Properties.KeyType)).toEqual(PRODUCERS.map(() => 'API_KEY'));
    const keyIds = planKeys.map((planKey) => (planKey.Properties.KeyId as { Ref: string }).Ref);
    expect(keyIds.sort()).toEqual(Object.keys(keys).sort());
  });

  it('refuses producers it cannot bind safely', () => {
    expect(() => synth({ producers: [] })).toThrow(/at least one producer/);
    expect(() => synth({ producers: [{ accountId: 'bad"account' }] })).toThrow(/accountId "bad"account"/);
    expect(() => synth({ producers: [{ accountId: 'a'.repeat(64) }] })).toThrow(/accountId/);
    expect(() => synth({ producers: [{ accountId: 'acme' }, { accountId: 'acme' }] })).toThrow(/appears twice/);
  });
});

describe('outputs', () => {
  it('exports the API URL, the queue URL and the DLQ URL', () => {
    const queue = logicalId('AWS::SQS::Queue', { QueueName: INGEST_QUEUE_NAME });
    const dlq = logicalId('AWS::SQS::Queue', { QueueName: DEAD_LETTER_QUEUE_NAME });
    template.hasOutput('ApiUrl', { Value: Match.objectLike({ 'Fn::Join': Match.anyValue() }) });
    template.hasOutput('QueueUrl', { Value: { Ref: queue } });
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: dlq } });
  });
});

describe('JSON schema conversion', () => {
  it('converts the generated schema without loss', () => {
    // The CDK renders `schema` as `$schema` and keeps everything else: the round trip is the identity.
    const converted = toApiGatewayJsonSchema(schema) as { [keyword: string]: unknown };
    const { schema: version, ...rest } = converted;
    expect({ $schema: version, ...rest }).toEqual(schema);
  });

  it('fails on a keyword it would otherwise drop, and on another draft', () => {
    expect(() =>
      toApiGatewayJsonSchema({ type: 'object', properties: { a: { type: 'string', format: 'email' } } }),
    ).toThrow('#/properties/a/format: keyword not supported');
    expect(() => toApiGatewayJsonSchema({ $schema: 'http://json-schema.org/draft-07/schema#' })).toThrow(/draft 4/);
    expect(() => toApiGatewayJsonSchema({ type: 'decimal' })).toThrow(/not a JSON Schema type/);
  });
});
