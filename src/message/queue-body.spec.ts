import { scanDataMember } from './data-member';
import { deduplicationId, messageGroupId, sqsSafeJson, subjectOfGroup, toQueueBody } from './queue-body';
import { RecordMessage } from './record-message.validation';

/** Characters SQS accepts in a message body (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF). */
const OUTSIDE_SQS_CHARSET = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function setMessage(overrides: Partial<RecordMessage> = {}): RecordMessage {
  return {
    op: 'set',
    accountId: 'acme',
    flowId: 'orders-sync',
    webhookKeys: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
    dataJson: '{"orderId":"A-1001","lines":[1,2,3],"shipped":true,"note":null}',
    version: 42,
    ...overrides,
  };
}

describe('toQueueBody', () => {
  it('writes the fields in order, data as its text', () => {
    expect(toQueueBody(setMessage())).toBe(
      '{"op":"set","accountId":"acme","flowId":"orders-sync","webhookKeys":["wh_7f3c9a1e2b4d","wh_erp-connector-01"],' +
        '"data":{"orderId":"A-1001","lines":[1,2,3],"shipped":true,"note":null},"version":42}',
    );
  });

  it('omits version when the message has none', () => {
    const parsed: unknown = JSON.parse(toQueueBody(setMessage({ version: undefined })));
    expect(parsed).not.toHaveProperty('version');
  });

  it('keeps version 0', () => {
    expect(JSON.parse(toQueueBody(setMessage({ version: 0 })))).toHaveProperty('version', 0);
  });

  it('omits data for a delete', () => {
    const body = toQueueBody({
      op: 'delete',
      accountId: 'acme',
      flowId: 'orders-sync',
      webhookKeys: ['wh_7f3c9a1e2b4d'],
    });
    expect(JSON.parse(body)).toStrictEqual({
      op: 'delete',
      accountId: 'acme',
      flowId: 'orders-sync',
      webhookKeys: ['wh_7f3c9a1e2b4d'],
    });
  });

  it.each([
    '0',
    'false',
    '""',
    '[]',
    '{}',
    '123456789012345678901234567890',
    '1.50',
    '-0',
    '1e400',
    '1E-7',
    '[ 1 ,\n\t2 ]',
    '{ "a" : "\\u00e9\\/\\"" }',
  ])('keeps the data text %s exactly', (dataJson) => {
    const body = toQueueBody(setMessage({ dataJson }));
    expect(body).toContain(`,"data":${dataJson},"version":42}`);
    const start = body.indexOf(',"data":') + ',"data":'.length;
    expect(scanDataMember(body)).toEqual({ kind: 'found', start, end: start + dataJson.length });
  });

  describe('characters SQS refuses', () => {
    const data = {
      text: 'a\uFFFEb\uFFFFc',
      '\uFFFFkey': ['\uFFFE'],
      backslashBefore: '\\\uFFFE',
      control: '\u0000\u0001\u001f',
      loneSurrogate: 'x\uD800y',
      loneLowSurrogate: 'x\uDC00y',
      reversedPair: '\uDC00\uD800',
      emoji: '\u{1F600}',
    };
    const dataJson = JSON.stringify(data, null, 1);

    it('leaves no raw U+FFFE, U+FFFF or unpaired surrogate in the body', () => {
      const body = toQueueBody(setMessage({ dataJson }));
      expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
      expect(body).toContain('"\\uffffkey"');
      expect(body).toContain('"\\\\\\ufffe"');
      expect(body).toContain('"x\\udc00y"');
      expect(body).toContain('"\\udc00\\ud800"');
    });

    it('leaves only characters SQS accepts', () => {
      expect(toQueueBody(setMessage({ dataJson }))).not.toMatch(OUTSIDE_SQS_CHARSET);
    });

    it('changes nothing else: the data text reads as the same value, and a surrogate pair stays as it is', () => {
      const body = toQueueBody(setMessage({ dataJson }));
      expect(JSON.parse(body).data).toStrictEqual(data);
      expect(body).toContain('\u{1F600}');
    });
  });
});

describe('sqsSafeJson', () => {
  it('returns text without refused characters unchanged', () => {
    const json = '{"a":"\\ufffe \u00e9 \u{1F600}","b":[1.50,-0]}';
    expect(sqsSafeJson(json)).toBe(json);
  });

  it('escapes each refused character as four lower-case hex digits', () => {
    expect(sqsSafeJson('"\uFFFE\uFFFF\uDFFF\uD800"')).toBe('"\\ufffe\\uffff\\udfff\\ud800"');
  });
});

describe('messageGroupId', () => {
  it('is accountId:flowId', () => {
    expect(messageGroupId({ accountId: 'acme', flowId: 'orders-sync' })).toBe('acme:orders-sync');
  });

  it('fits the 128-character SQS limit for the longest ids', () => {
    const groupId = messageGroupId({ accountId: 'a'.repeat(63), flowId: 'f'.repeat(63) });
    expect(groupId).toHaveLength(127);
    expect(groupId.length).toBeLessThanOrEqual(128);
  });
});

describe('deduplicationId', () => {
  it('is the same for the same group and Idempotency-Key, and a valid SQS deduplication id', () => {
    const id = deduplicationId('acme:orders', 'order-1001');
    expect(id).toBe(deduplicationId('acme:orders', 'order-1001'));
    expect(id).toMatch(/^[0-9a-f]{64}$/);
  });

  it("differs between groups, so one account cannot suppress another account's message", () => {
    expect(deduplicationId('acme:orders', 'k-1')).not.toBe(deduplicationId('globex:orders', 'k-1'));
    expect(deduplicationId('acme:orders', 'k-1')).not.toBe(deduplicationId('acme:invoices', 'k-1'));
  });

  it('cannot be forged by moving characters between the group and the key', () => {
    expect(deduplicationId('acme:a', 'b:c')).not.toBe(deduplicationId('acme:a:b', 'c'));
  });
});

describe('subjectOfGroup', () => {
  it('reads accountId:flowId, and nothing else', () => {
    expect(subjectOfGroup('acme:orders')).toEqual({ accountId: 'acme', flowId: 'orders' });
    for (const group of [null, '', 'acme', 'acme:', ':orders', 'a:b:c']) expect(subjectOfGroup(group)).toBeNull();
  });
});
