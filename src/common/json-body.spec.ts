import Fastify from 'fastify';
import { deferJsonParseErrors, MAX_JSON_DEPTH, parseContractJson, UnparsableJsonBody } from './json-body';

const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('parseContractJson', () => {
  it('parses JSON nested up to MAX_JSON_DEPTH levels', () => {
    expect(parseContractJson(nestedArrays(MAX_JSON_DEPTH))).toEqual(JSON.parse(nestedArrays(MAX_JSON_DEPTH)));
    expect(parseContractJson(nestedObjects(MAX_JSON_DEPTH))).toEqual(JSON.parse(nestedObjects(MAX_JSON_DEPTH)));
    expect(
      parseContractJson(`{"data":${nestedArrays(MAX_JSON_DEPTH - 1)},"wide":[${'1,'.repeat(5000)}1]}`),
    ).toHaveProperty('wide');
  });

  it('refuses JSON nested one level deeper, and far deeper, without overflowing the stack', () => {
    for (const text of [nestedArrays(MAX_JSON_DEPTH + 1), nestedObjects(MAX_JSON_DEPTH + 1), nestedArrays(200_000)]) {
      expect(() => parseContractJson(text)).toThrow(new SyntaxError(`nested deeper than ${MAX_JSON_DEPTH} levels`));
    }
  });

  it('refuses prototype poisoning and text that is not JSON', () => {
    expect(() => parseContractJson('{"__proto__":{"polluted":true}}')).toThrow(SyntaxError);
    expect(() => parseContractJson('{"constructor":{"prototype":{"polluted":true}}}')).toThrow(SyntaxError);
    expect(() => parseContractJson('{"a":1,}')).toThrow(SyntaxError);
  });
});

describe('deferJsonParseErrors', () => {
  /** What a route sees of a JSON body sent as these bytes: the parsed body (or why not) and the text kept. */
  async function received(payload: Buffer): Promise<{ body: unknown; text: string | null }> {
    const fastify = Fastify();
    deferJsonParseErrors(fastify);
    fastify.post('/', async (request) => ({
      body: request.body instanceof UnparsableJsonBody ? { unparsable: request.body.reason } : request.body,
      text: request.jsonBodyText ?? null,
    }));
    try {
      const response = await fastify.inject({
        method: 'POST',
        url: '/',
        payload,
        headers: { 'content-type': 'application/json' },
      });
      return response.json();
    } finally {
      await fastify.close();
    }
  }

  it('keeps the text of the body beside the parsed value', async () => {
    const text = '{ "data" : [1.50, 1e2, "\\u00e9", "é"] }';
    expect(await received(Buffer.from(text))).toEqual({ body: { data: [1.5, 100, 'é', 'é'] }, text });
  });

  it('drops a leading byte order mark', async () => {
    expect(await received(Buffer.from('\uFEFF{"a":1}'))).toEqual({ body: { a: 1 }, text: '{"a":1}' });
  });

  it.each([
    ['a lone continuation byte', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d])],
    [
      'a truncated sequence',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from('é').subarray(0, 1), Buffer.from('"}')]),
    ],
    [
      'an encoded surrogate',
      Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    ],
    ['an overlong encoding', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
  ])('defers a body that is not UTF-8 (%s) as unparsable instead of replacing the bytes', async (_case, payload) => {
    expect(await received(payload)).toEqual({ body: { unparsable: 'the body is not valid UTF-8' }, text: null });
  });
});
