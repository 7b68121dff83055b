import { MAX_JSON_DEPTH, parseContractJson } from './json-body';

const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const nestedObjects = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('parseContractJson', () => {
  it('parses JSON nested up to MAX_JSON_DEPTH levels', () => {
    expect(parseContractJson(nestedArrays(MAX_JSON_DEPTH))).toEqual(JSON.parse(nestedArrays(MAX_JSON_DEPTH)));
    expect(parseContractJson(nestedObjects(MAX_JSON_DEPTH))).toEqual(JSON.parse(nestedObjects(MAX_JSON_DEPTH)));
    expect(parseContractJson(`{"data":${nestedArrays(MAX_JSON_DEPTH - 1)},"wide":[${'1,'.repeat(5000)}1]}`)).toHaveProperty('wide');
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
