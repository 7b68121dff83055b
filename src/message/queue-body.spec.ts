import { deduplicationId, messageGroupId, toQueueBody } from './queue-body';
import { RecordMessage } from './record-message.validation';

/** Characters SQS accepts in a message body (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF). */
const OUTSIDE_SQS_CHARSET = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

function setMessage(overrides: Partial<RecordMessage> = {}): RecordMessage {
  return {
    op: 'set',
    accountId: 'acme',
    flowId: 'orders-sync',
    webhookKeys: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
    data: { orderId: 'A-1001', lines: [1, 2, 3], shipped: true, note: null },
    version: 42,
    ...overrides,
  };
}

describe('toQueueBody', () => {
  it('round-trips through JSON.parse to the same message', () => {
    const message = setMessage();
    expect(JSON.parse(toQueueBody(message))).toStrictEqual(message);
  });

  it('omits version when the message has none', () => {
    const parsed: unknown = JSON.parse(toQueueBody(setMessage({ version: undefined })));
    expect(parsed).not.toHaveProperty('version');
  });

  it('keeps version 0', () => {
    expect(JSON.parse(toQueueBody(setMessage({ version: 0 })))).toHaveProperty('version', 0);
  });

  it('omits data for a delete', () => {
    const body = toQueueBody({ op: 'delete', accountId: 'acme', flowId: 'orders-sync', webhookKeys: ['wh_7f3c9a1e2b4d'] });
    expect(JSON.parse(body)).toStrictEqual({
      op: 'delete',
      accountId: 'acme',
      flowId: 'orders-sync',
      webhookKeys: ['wh_7f3c9a1e2b4d'],
    });
  });

  it.each([0, false, '', [], {}])('keeps falsy or empty data %p', (data) => {
    expect(JSON.parse(toQueueBody(setMessage({ data })))).toHaveProperty('data', data);
  });

  describe('characters SQS refuses', () => {
    const data = {
      text: 'a\uFFFEb\uFFFFc',
      '\uFFFFkey': ['\uFFFE'],
      backslashBefore: '\\\uFFFE',
      control: '\u0000\u0001\u001f',
      loneSurrogate: 'x\uD800y',
      emoji: '\u{1F600}',
    };

    it('leaves no raw U+FFFE or U+FFFF in the body', () => {
      const body = toQueueBody(setMessage({ data }));
      expect(body).not.toMatch(/[\uFFFE\uFFFF]/);
      expect(body).toContain('\\ufffe');
      expect(body).toContain('\\uffff');
    });

    it('leaves only characters SQS accepts', () => {
      expect(toQueueBody(setMessage({ data }))).not.toMatch(OUTSIDE_SQS_CHARSET);
    });

    it('parses back to the original data', () => {
      expect(JSON.parse(toQueueBody(setMessage({ data }))).data).toStrictEqual(data);
    });
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

  it('differs between groups, so one account cannot suppress another account\'s message', () => {
    expect(deduplicationId('acme:orders', 'k-1')).not.toBe(deduplicationId('globex:orders', 'k-1'));
    expect(deduplicationId('acme:orders', 'k-1')).not.toBe(deduplicationId('acme:invoices', 'k-1'));
  });

  it('cannot be forged by moving characters between the group and the key', () => {
    expect(deduplicationId('acme:a', 'b:c')).not.toBe(deduplicationId('acme:a:b', 'c'));
  });
});
