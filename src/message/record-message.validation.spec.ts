import { FieldProblem } from '../common/error-response.dto';
import { JsonDocument } from '../common/json-body';
import { MAX_WEBHOOK_KEYS_PER_MESSAGE } from './record-message.dto';
import { RecordMessage, validateRecordMessage } from './record-message.validation';

type Body = Record<string, unknown>;

function setMessage(overrides: Body = {}): Body {
  return {
    accountId: 'acme',
    flowId: 'orders-sync',
    webhookKeys: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
    data: { orderId: 'A-1001', status: 'shipped' },
    ...overrides,
  };
}

function deleteMessage(overrides: Body = {}): Body {
  const { data: _data, ...withoutData } = setMessage({ op: 'delete' });
  return { ...withoutData, ...overrides };
}

/** A body as a client would send it: the JSON text of `body` and its value. */
function sent(body: unknown): JsonDocument {
  return { text: JSON.stringify(body) ?? '', value: body };
}

/** A body as written in `text`. */
function written(text: string): JsonDocument {
  return { text, value: JSON.parse(text) };
}

function accepted(body: unknown): RecordMessage {
  return acceptedDocument(sent(body));
}

function acceptedDocument(document: JsonDocument): RecordMessage {
  const check = validateRecordMessage(document);
  if (!check.valid) throw new Error(`expected the body to be valid, got ${JSON.stringify(check.problems)}`);
  return check.message;
}

function problemsOf(body: unknown): FieldProblem[] {
  return problemsOfDocument(sent(body));
}

function problemsOfDocument(document: JsonDocument): FieldProblem[] {
  const check = validateRecordMessage(document);
  if (check.valid) throw new Error('expected the body to be rejected');
  return check.problems;
}

function rejectedFields(body: unknown): string[] {
  return problemsOf(body).map((problem) => problem.field);
}

function keys(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `webhook-key-${index}`);
}

describe('validateRecordMessage', () => {
  describe('a valid message', () => {
    it('is returned with its fields', () => {
      expect(accepted(setMessage({ op: 'set', version: 7 }))).toEqual({
        op: 'set',
        accountId: 'acme',
        flowId: 'orders-sync',
        webhookKeys: ['wh_7f3c9a1e2b4d', 'wh_erp-connector-01'],
        dataJson: '{"orderId":"A-1001","status":"shipped"}',
        version: 7,
      });
    });

    it('defaults op to "set"', () => {
      expect(accepted(setMessage()).op).toBe('set');
    });

    it('leaves version undefined when absent', () => {
      expect(accepted(setMessage()).version).toBeUndefined();
    });

    it('carries the text of data exactly as written', () => {
      const data = '{ "n" : 123456789012345678901234567890, "price":1.50,"zero":-0,\n"huge":1e400,"s":"\\u00e9\\/" }';
      const text = `{"accountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":  ${data}\t}`;
      expect(acceptedDocument(written(text)).dataJson).toBe(data);
    });
  });

  describe('op', () => {
    it('accepts "delete"', () => {
      expect(accepted(deleteMessage()).op).toBe('delete');
    });

    it.each(['remove', 'SET', '', null, 1])('rejects %p', (op) => {
      expect(problemsOf(setMessage({ op }))).toEqual([{ field: 'op', message: 'op must be "set" or "delete"' }]);
    });
  });

  describe.each(['accountId', 'flowId'])('%s', (field) => {
    it.each(['a', 'acme.EU_2-b', 'A'.repeat(63)])('accepts %p', (value) => {
      expect(accepted(setMessage({ [field]: value }))[field as 'accountId' | 'flowId']).toBe(value);
    });

    it.each([
      ['64 characters', 'A'.repeat(64)],
      ['an empty string', ''],
      ['a colon', 'acme:eu'],
      ['a space', 'acme eu'],
      ['a slash', 'acme/eu'],
      ['a brace', 'acme{eu}'],
      ['a non-ASCII letter', 'acmé'],
      ['a number', 42],
      ['null', null],
    ])('rejects %s', (_case, value) => {
      expect(rejectedFields(setMessage({ [field]: value }))).toEqual([field]);
    });

    it('is required', () => {
      const { [field]: _removed, ...body } = setMessage();
      expect(rejectedFields(body)).toEqual([field]);
    });
  });

  describe('webhookKeys', () => {
    it.each([
      ['8 characters', 'k'.repeat(8)],
      ['512 characters', 'k'.repeat(512)],
      ['every printable ASCII character', '!"#$%&\'()*+,-./0123456789:;<=>?@AZ[\\]^_`az{|}~'],
    ])('accepts a key of %s', (_case, key) => {
      expect(accepted(setMessage({ webhookKeys: [key] })).webhookKeys).toEqual([key]);
    });

    it.each([
      ['7 characters', 'k'.repeat(7)],
      ['513 characters', 'k'.repeat(513)],
      ['a space', 'webhook key'],
      ['a tab', 'webhook\tkey'],
      ['a newline', 'webhook\nkey'],
      ['a non-ASCII character', 'webhook-kéy'],
      ['a DEL character', 'webhook-key\x7f'],
    ])('rejects a key with %s, naming its index', (_case, key) => {
      expect(problemsOf(setMessage({ webhookKeys: [...keys(3), key] }))).toEqual([
        {
          field: 'webhookKeys',
          message: 'webhookKeys[3] must be 8 to 512 printable ASCII characters without whitespace',
        },
      ]);
    });

    it('rejects a key that is not a string, naming its index', () => {
      expect(problemsOf(setMessage({ webhookKeys: ['webhook-key-0', 12345678] }))[0].message).toMatch(
        /^webhookKeys\[1\] /,
      );
    });

    it('rejects a duplicate, naming the repeated index', () => {
      expect(problemsOf(setMessage({ webhookKeys: [...keys(3), 'webhook-key-1'] }))).toEqual([
        { field: 'webhookKeys', message: 'webhookKeys[3] repeats an earlier key; keys must be unique' },
      ]);
    });

    it(`accepts ${MAX_WEBHOOK_KEYS_PER_MESSAGE} keys`, () => {
      expect(accepted(setMessage({ webhookKeys: keys(MAX_WEBHOOK_KEYS_PER_MESSAGE) })).webhookKeys).toHaveLength(1000);
    });

    it.each([
      ['no keys', []],
      ['1001 keys', keys(1001)],
    ])('rejects %s', (_case, webhookKeys) => {
      expect(problemsOf(setMessage({ webhookKeys }))).toEqual([
        { field: 'webhookKeys', message: `webhookKeys must hold 1 to 1000 keys, got ${webhookKeys.length}` },
      ]);
    });

    it.each([
      ['a string', 'webhook-key-0'],
      ['null', null],
      ['an object', { 0: 'webhook-key-0' }],
    ])('rejects %s instead of an array', (_case, webhookKeys) => {
      expect(problemsOf(setMessage({ webhookKeys }))).toEqual([
        { field: 'webhookKeys', message: 'webhookKeys must be an array of strings' },
      ]);
    });

    it('is required', () => {
      const { webhookKeys: _removed, ...body } = setMessage();
      expect(rejectedFields(body)).toEqual(['webhookKeys']);
    });
  });

  describe('data', () => {
    it.each([0, false, '', [], {}, 'text', -1.5, [null]])('accepts %p', (data) => {
      expect(accepted(setMessage({ data })).dataJson).toBe(JSON.stringify(data));
    });

    it.each(['1e400', '-1e400'])('accepts %s, which JSON.parse reads as an infinity', (data) => {
      const text = `{"accountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":${data}}`;
      expect(acceptedDocument(written(text)).dataJson).toBe(data);
    });

    it('is refused when it appears twice, since JSON.parse would keep only the last', () => {
      const text = '{"accountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":{"ok":1},"data":null}';
      expect(problemsOfDocument(written(text))).toEqual([
        { field: 'data', message: 'property data appears more than once; each may appear only once' },
        { field: 'data', message: 'data must not be null' },
      ]);
    });

    it('is required for set', () => {
      const { data: _removed, ...body } = setMessage();
      expect(problemsOf(body)).toEqual([{ field: 'data', message: 'data is required when op is "set"' }]);
    });

    it('must not be null', () => {
      expect(problemsOf(setMessage({ data: null }))).toEqual([{ field: 'data', message: 'data must not be null' }]);
    });

    it.each([{ a: 1 }, null, 0])('must be absent for delete (rejects %p)', (data) => {
      expect(problemsOf(deleteMessage({ data }))).toEqual([
        { field: 'data', message: 'data must be absent when op is "delete"' },
      ]);
    });

    it('is undefined in a valid delete', () => {
      expect(accepted(deleteMessage()).dataJson).toBeUndefined();
    });
  });

  describe('version', () => {
    it.each([0, 1, Number.MAX_SAFE_INTEGER])('accepts %p', (version) => {
      expect(accepted(setMessage({ version })).version).toBe(version);
    });

    it.each([-1, 1.5, '3', null, true, Number.MAX_SAFE_INTEGER + 1, Number.NaN, Number.POSITIVE_INFINITY])(
      'rejects %p',
      (version) => {
        expect(rejectedFields(setMessage({ version }))).toEqual(['version']);
      },
    );
  });

  describe('a repeated top-level field', () => {
    it.each(['accountId', 'op', 'webhookKeys', 'version'])('is refused by name (%s)', (field) => {
      const body = JSON.stringify(setMessage({ op: 'set', version: 1 }));
      const repeated = body.replace(
        /^\{/,
        `{${JSON.stringify(field)}:${JSON.stringify(setMessage({ op: 'set', version: 1 })[field])},`,
      );
      expect(problemsOfDocument(written(repeated))).toEqual([
        { field, message: `property ${field} appears more than once; each may appear only once` },
      ]);
    });

    it('is refused also when written with escapes', () => {
      const text =
        '{"accountId":"acme","\\u0061ccountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":1}';
      expect(problemsOfDocument(written(text))).toEqual([
        { field: 'accountId', message: 'property accountId appears more than once; each may appear only once' },
      ]);
    });
  });

  describe('unknown fields', () => {
    it('are rejected, each by name', () => {
      expect(problemsOf(setMessage({ ttl: 60, Data: {} }))).toEqual([
        { field: 'ttl', message: 'property ttl is not part of the message contract' },
        { field: 'Data', message: 'property Data is not part of the message contract' },
      ]);
    });

    it('are reported together with invalid known fields', () => {
      expect(rejectedFields(setMessage({ extra: 1, accountId: 'bad id' })).sort()).toEqual(['accountId', 'extra']);
    });

    describe('a top-level "__proto__" own property', () => {
      afterEach(() => {
        expect(Object.prototype).not.toHaveProperty('polluted');
        expect(({} as Body).polluted).toBeUndefined();
      });

      it('is rejected when it holds a number', () => {
        const body = written(
          '{"__proto__":1,"accountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":1}',
        );
        expect(problemsOfDocument(body).map((problem) => problem.field)).toEqual(['__proto__']);
      });

      it('is rejected without polluting any prototype when it holds an object', () => {
        const body = written(
          '{"accountId":"acme","flowId":"f","webhookKeys":["webhook-key-0"],"data":1,"__proto__":{"polluted":true,"op":"delete"}}',
        );
        expect(problemsOfDocument(body).map((problem) => problem.field)).toEqual(['__proto__']);
      });
    });

    it('include "constructor"', () => {
      expect(rejectedFields(setMessage({ constructor: { prototype: {} } }))).toEqual(['constructor']);
    });
  });

  describe('a body that is not an object', () => {
    it.each([
      ['an array', [setMessage()]],
      ['a string', 'set'],
      ['null', null],
      ['a number', 42],
      ['a boolean', true],
      ['undefined', undefined],
    ])('rejects %s as (body)', (_case, body) => {
      expect(problemsOf(body)).toEqual([{ field: '(body)', message: 'the message must be a JSON object' }]);
    });
  });
});
