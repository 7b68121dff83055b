import { QueueMessage } from '../queue/sqs-types';
import { decodeIngestMessage, Decoded } from './ingest-decoder';

const MAX_BYTES = 262144;

const VALID_BODY = {
  accountId: 'acme',
  flowId: 'orders-sync',
  webhookKeys: ['wh_7f3c9a1e2b4d'],
  data: { orderId: 'A-1001' },
};

function sqsMessage(body: string | undefined, groupId?: string): QueueMessage {
  return {
    MessageId: 'b6f0c9e2-1d3a-4c5e-8f7a-9b0c1d2e3f40',
    Body: body,
    ...(groupId !== undefined && { Attributes: { MessageGroupId: groupId } }),
  };
}

function failure(decoded: Decoded): { code: string; reason: string } {
  if (decoded.ok) throw new Error('expected the message to be refused');
  return { code: decoded.code, reason: decoded.reason };
}

describe('decodeIngestMessage', () => {
  describe('size', () => {
    const body = JSON.stringify({ ...VALID_BODY, data: 'é€'.repeat(100) });
    const bytes = Buffer.byteLength(body);

    it('counts bytes, not characters', () => {
      expect(bytes).toBeGreaterThan(body.length);
      const { code, reason } = failure(decodeIngestMessage(sqsMessage(body, 'acme:orders-sync'), body.length));
      expect(code).toBe('MESSAGE_TOO_LARGE');
      expect(reason).toContain(`${bytes} bytes`);
      expect(reason).toContain(`MAX_MESSAGE_BYTES (${body.length})`);
    });

    it('accepts a body of exactly the limit', () => {
      expect(decodeIngestMessage(sqsMessage(body, 'acme:orders-sync'), bytes).ok).toBe(true);
    });

    it('refuses a body one byte over the limit', () => {
      expect(failure(decodeIngestMessage(sqsMessage(body, 'acme:orders-sync'), bytes - 1)).code).toBe(
        'MESSAGE_TOO_LARGE',
      );
    });

    it('checks the size before parsing', () => {
      expect(failure(decodeIngestMessage(sqsMessage('x'.repeat(2000)), 1024)).code).toBe('MESSAGE_TOO_LARGE');
    });
  });

  describe('JSON', () => {
    it.each([
      ['text', 'set acme orders'],
      ['a truncated object', '{"accountId":"acme"'],
      ['an empty body', ''],
      ['a missing body', undefined],
      ['a __proto__ key', '{"__proto__":{}}'],
      ['a __proto__ key beside valid fields', JSON.stringify(VALID_BODY).replace(/^\{/, '{"__proto__":{"x":1},')],
      [
        'a nested __proto__ key',
        JSON.stringify({ ...VALID_BODY, data: { a: 1 } }).replace('{"a":1}', '{"__proto__":{}}'),
      ],
      ['a constructor.prototype key', '{"constructor":{"prototype":{}}}'],
    ])('refuses %s as INVALID_JSON', (_case, body) => {
      const { code, reason } = failure(decodeIngestMessage(sqsMessage(body), MAX_BYTES));
      expect(code).toBe('INVALID_JSON');
      expect(reason).toMatch(/^body is not JSON: /);
    });

    it('leaves Object.prototype untouched by a poisoned body', () => {
      decodeIngestMessage(sqsMessage('{"__proto__":{"polluted":true}}'), MAX_BYTES);
      expect(Object.prototype).not.toHaveProperty('polluted');
    });
  });

  describe('validation', () => {
    it('refuses an invalid message as INVALID_MESSAGE, naming every field at fault', () => {
      const body = JSON.stringify({ accountId: 'acme corp', flowId: 'orders-sync', data: 1, priority: 'high' });
      const { code, reason } = failure(decodeIngestMessage(sqsMessage(body), MAX_BYTES));
      expect(code).toBe('INVALID_MESSAGE');
      expect(reason).toContain('accountId: accountId must be');
      expect(reason).toContain('webhookKeys: webhookKeys must be an array of strings');
      expect(reason).toContain('priority: property priority is not part of the message contract');
    });

    it('names the offending webhook key by index', () => {
      const body = JSON.stringify({ ...VALID_BODY, webhookKeys: ['wh_7f3c9a1e2b4d', 'short'] });
      expect(failure(decodeIngestMessage(sqsMessage(body), MAX_BYTES)).reason).toContain('webhookKeys[1]');
    });

    it.each(['[]', '"text"', 'null', '42'])('refuses the non-object body %s', (body) => {
      const { code, reason } = failure(decodeIngestMessage(sqsMessage(body), MAX_BYTES));
      expect(code).toBe('INVALID_MESSAGE');
      expect(reason).toContain('(body)');
    });
  });

  describe('data', () => {
    const written = (dataJson: string) =>
      `{ "accountId" : "acme", "flowId":"orders-sync","webhookKeys":["wh_7f3c9a1e2b4d"],\n"data" :\t${dataJson} }`;
    const dataJsonOf = (body: string) => {
      const decoded = decodeIngestMessage(sqsMessage(body), MAX_BYTES);
      if (!decoded.ok) throw new Error(`expected the message to be accepted, got ${decoded.reason}`);
      return decoded.message.dataJson;
    };

    it.each(['123456789012345678901234567890', '1.50', '-0', '1e400', '{ "a" : [ 1 , "\\u00e9\\/" ] }', '"\\ufffe"'])(
      'is carried on as the body writes it: %s',
      (dataJson) => {
        expect(dataJsonOf(written(dataJson))).toBe(dataJson);
      },
    );

    it('is found after a byte order mark, which is ignored as the gateway ignores it', () => {
      expect(dataJsonOf(`\uFEFF${written('1.50')}`)).toBe('1.50');
    });

    it('is refused as INVALID_MESSAGE, naming it, when it appears twice', () => {
      const body = written('{"checked":true}').replace(/ }$/, ',"data":{"checked":false}}');
      const { code, reason } = failure(decodeIngestMessage(sqsMessage(body), MAX_BYTES));
      expect(code).toBe('INVALID_MESSAGE');
      expect(reason).toBe('data: property data appears more than once; each may appear only once');
    });
  });

  describe('MessageGroupId', () => {
    const body = JSON.stringify(VALID_BODY);

    it.each(['acme:orders', 'acme', 'other:orders-sync', 'orders-sync:acme', ''])(
      'refuses a message whose group %p is not accountId:flowId',
      (groupId) => {
        const { code, reason } = failure(decodeIngestMessage(sqsMessage(body, groupId), MAX_BYTES));
        expect(code).toBe('MESSAGE_GROUP_MISMATCH');
        expect(reason).toContain('"acme:orders-sync"');
      },
    );

    it('accepts a message whose group is accountId:flowId', () => {
      const { data, ...fields } = VALID_BODY;
      expect(decodeIngestMessage(sqsMessage(body, 'acme:orders-sync'), MAX_BYTES)).toEqual({
        ok: true,
        message: { op: 'set', ...fields, dataJson: JSON.stringify(data) },
      });
    });

    it('accepts a message without a MessageGroupId', () => {
      expect(decodeIngestMessage(sqsMessage(body), MAX_BYTES).ok).toBe(true);
      expect(decodeIngestMessage({ ...sqsMessage(body), Attributes: {} }, MAX_BYTES).ok).toBe(true);
    });
  });
});
