import { describe, expect, it } from '@jest/globals';
import { prettyJson } from './pretty';

describe('prettyJson', () => {
  it('indents without changing a token: big numbers, trailing zeros, escapes, spaces inside strings', () => {
    const text =
      '{"big":12345678901234567890123, "price" : 1.50,"s":"a, b: {\\"c\\"} [d]","e":"\\u00e9","n":-0,"x":1e400}';
    expect(prettyJson(text)).toBe(
      [
        '{',
        '  "big": 12345678901234567890123,',
        '  "price": 1.50,',
        '  "s": "a, b: {\\"c\\"} [d]",',
        '  "e": "\\u00e9",',
        '  "n": -0,',
        '  "x": 1e400',
        '}',
      ].join('\n'),
    );
  });

  it('nests arrays and objects, and keeps empty ones on one line', () => {
    expect(prettyJson('[1,{"a":[]},{},[ ],"z"]')).toBe('[\n  1,\n  {\n    "a": []\n  },\n  {},\n  [],\n  "z"\n]');
  });

  it('leaves a scalar as it is', () => {
    expect(prettyJson('"text"')).toBe('"text"');
    expect(prettyJson('12345678901234567890.000')).toBe('12345678901234567890.000');
  });
});
