import { expiryOfBody, RecordBodyFields, renderRecordBody } from './record-body';

const STORED_AT = Date.UTC(2025, 0, 15, 10, 30, 0, 123);
const EXPIRES_AT = Date.UTC(2025, 0, 22, 10, 30, 0, 123);

function fields(overrides: Partial<RecordBodyFields> = {}): RecordBodyFields {
  return {
    accountId: 'acme',
    flowId: 'orders-sync',
    dataJson: '{"orderId":"A-1001","lines":[1,2,3]}',
    version: 42,
    storedAt: STORED_AT,
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

describe('renderRecordBody', () => {
  it('renders exactly the fields GET /v1/data answers with', () => {
    expect(JSON.parse(renderRecordBody(fields()).json)).toStrictEqual({
      accountId: 'acme',
      flowId: 'orders-sync',
      data: { orderId: 'A-1001', lines: [1, 2, 3] },
      version: 42,
      storedAt: '2025-01-15T10:30:00.123Z',
      expiresAt: '2025-01-22T10:30:00.123Z',
    });
  });

  it('renders a missing version as null', () => {
    expect(JSON.parse(renderRecordBody(fields({ version: null })).json)).toHaveProperty('version', null);
  });

  it('renders version 0 as 0', () => {
    expect(JSON.parse(renderRecordBody(fields({ version: 0 })).json)).toHaveProperty('version', 0);
  });

  it('renders the largest safe version exactly', () => {
    const version = Number.MAX_SAFE_INTEGER;
    expect(JSON.parse(renderRecordBody(fields({ version })).json)).toHaveProperty('version', version);
  });

  it('renders a record that never expires with expiresAt null', () => {
    expect(JSON.parse(renderRecordBody(fields({ expiresAt: null })).json)).toHaveProperty('expiresAt', null);
  });

  it.each([0, false, '', [], {}, 'text'])('renders the data value %p', (data) => {
    expect(JSON.parse(renderRecordBody(fields({ dataJson: JSON.stringify(data) })).json)).toHaveProperty('data', data);
  });

  it.each(['123456789012345678901234567890', '1.50', '-0', '1e400', '1E-7', '[ 1 ,\n\t2 ]', '"\\u00e9\\/"'])(
    'splices the data text %s in exactly as given',
    (dataJson) => {
      expect(renderRecordBody(fields({ dataJson })).json).toContain(
        `"flowId":"orders-sync","data":${dataJson},"version":42,`,
      );
    },
  );

  it('keeps special characters in ids and data intact', () => {
    const data = {
      quote: 'say "hi"',
      backslash: 'C:\\temp\\',
      lines: 'one\ntwo\r\n\tthree',
      control: '\u0000\u001f',
      separators: '\u2028\u2029',
      html: '</script><!--',
      unicode: 'café \u{1F600} 日本',
      loneSurrogate: '\uD800',
      '"key"': { 'a.b': ['x', null] },
    };
    const parsed: unknown = JSON.parse(
      renderRecordBody(fields({ accountId: 'a.C_9-z', flowId: '.-_', dataJson: JSON.stringify(data) })).json,
    );
    expect(parsed).toMatchObject({ accountId: 'a.C_9-z', flowId: '.-_', data });
  });

  describe('ETag', () => {
    it('is a quoted strong tag', () => {
      const { etag } = renderRecordBody(fields());
      expect(etag).toMatch(/^"[\x21\x23-\x7e]+"$/);
      expect(etag.startsWith('W/')).toBe(false);
    });

    it('is stable for equal input', () => {
      expect(renderRecordBody(fields()).etag).toBe(renderRecordBody(fields()).etag);
    });

    it.each<[string, Partial<RecordBodyFields>]>([
      ['accountId', { accountId: 'acme2' }],
      ['flowId', { flowId: 'orders-sync2' }],
      ['data', { dataJson: '{"orderId":"A-1002","lines":[1,2,3]}' }],
      ['data type', { dataJson: JSON.stringify('{"orderId":"A-1001","lines":[1,2,3]}') }],
      ['data text only', { dataJson: '{"orderId":"A-1001","lines":[1,2,3.0]}' }],
      ['version', { version: 43 }],
      ['version to null', { version: null }],
      ['storedAt', { storedAt: STORED_AT + 1 }],
      ['expiresAt', { expiresAt: EXPIRES_AT + 1 }],
      ['expiresAt to null', { expiresAt: null }],
    ])('changes when %s differs', (_field, change) => {
      expect(renderRecordBody(fields(change)).etag).not.toBe(renderRecordBody(fields()).etag);
    });
  });
});

describe('expiryOfBody', () => {
  it('reads the expiry renderRecordBody wrote', () => {
    expect(expiryOfBody(Buffer.from(renderRecordBody(fields()).json))).toBe(EXPIRES_AT);
  });

  it('reads "never" as null', () => {
    expect(expiryOfBody(Buffer.from(renderRecordBody(fields({ expiresAt: null })).json))).toBeNull();
  });

  it('is not fooled by an expiresAt inside the data', () => {
    const body = renderRecordBody(fields({ dataJson: '{"expiresAt":"2020-01-01T00:00:00.000Z"}', expiresAt: null }));
    expect(expiryOfBody(Buffer.from(body.json))).toBeNull();
  });

  it.each([
    ['a document without expiresAt', '{"data":1}'],
    ['an unparsable time', '{"expiresAt":"not a time at all, really"}'],
    ['an empty body', ''],
  ])('answers undefined for %s', (_case, json) => {
    expect(expiryOfBody(Buffer.from(json))).toBeUndefined();
  });
});
