import fc from 'fast-check';
import { DataMemberScan, scanDataMember } from './data-member';

/** The text scanDataMember found for `data`, or what it found instead. */
function dataText(body: string): string | Exclude<DataMemberScan, { kind: 'found' }> {
  const scan = scanDataMember(body);
  return scan.kind === 'found' ? body.slice(scan.start, scan.end) : scan;
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Number literals JSON.stringify would rewrite (or turn into null). */
const NUMBER_LITERALS = [
  '123456789012345678901234567890',
  '1.50',
  '-0',
  '1e400',
  '-1e400',
  '1E-7',
  '0.1e+2',
  '0e0',
  '-0.0',
  '5e-324',
  '2e-400',
  '9007199254740993',
];

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 });

/** JSON text of any value, with arbitrary whitespace between tokens and some hand-made number literals. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.json({ maxDepth: 0 }),
    fc.constantFrom(...NUMBER_LITERALS),
    fc.constantFrom('"\\u00e9"', '"\\/"', '"\\"}{]["', '"\\\\"', '"\uFFFE"', '"\uD800"'),
    fc
      .array(fc.tuple(whitespace, tie('value'), whitespace), { maxLength: 4 })
      .map((items) => `[${items.map(([before, item, after]) => before + item + after).join(',')}]`),
    fc
      .array(
        fc.tuple(
          whitespace,
          fc.string({ maxLength: 6 }).map((name) => JSON.stringify(name)),
          whitespace,
          tie('value'),
        ),
        {
          maxLength: 4,
        },
      )
      .map(
        (members) => `{${members.map(([before, name, after, item]) => `${before}${name}${after}:${item}`).join(',')}}`,
      ),
  ),
})).value;

describe('scanDataMember', () => {
  describe('finds the exact text of data', () => {
    it.each([
      ['an object', '{"a":1}'],
      ['an array', '[1, 2 ,3]'],
      ['a string', '"text"'],
      ['an empty string', '""'],
      ['true', 'true'],
      ['false', 'false'],
      ['null', 'null'],
      ['an empty object', '{}'],
      ['an empty array', '[ ]'],
      ...NUMBER_LITERALS.map((literal) => [`the number ${literal}`, literal]),
    ])('when it is %s', (_case, data) => {
      expect(dataText(`{"accountId":"acme","data":${data},"version":1}`)).toBe(data);
      expect(dataText(`{"data":${data}}`)).toBe(data);
    });

    it('with strings holding escaped quotes, braces and brackets', () => {
      const data = '{"a":"}\\"{","b":["]\\\\",  "\\"data\\":1"], "c" : {"data":"not this one"}}';
      expect(dataText(`{"op":"set","data":${data},"x":"\\"data\\":2"}`)).toBe(data);
    });

    it('with \\u escapes, kept as written', () => {
      const data = '"\\u00e9\\u00E9\\uD83D\\ude00\\ufffe\\/\\b\\f\\n\\r\\t"';
      expect(dataText(`{"data":${data}}`)).toBe(data);
    });

    it('with whitespace everywhere, excluding the whitespace around it', () => {
      const data = '[ 1 ,\n\t{ "k" :\r\n "v" } ]';
      expect(dataText(` \n\t{ \r "accountId" : "acme" ,\n "data"\t:\n ${data} \r\n, "version" : 3 } \n`)).toBe(data);
    });

    it('when the name is written with escapes', () => {
      expect(dataText('{"d\\u0061ta":1.50}')).toBe('1.50');
    });

    it('only at the top level', () => {
      expect(dataText('{"x":{"data":1},"data":2}')).toBe('2');
      expect(dataText('{"x":[{"data":1}]}')).toEqual({ kind: 'absent' });
    });

    it('in a large body in one pass', () => {
      const data = `[${Array.from({ length: 20_000 }, (_, index) => `{"n":${index}.50,"s":"\\"x\\u00e9"}`).join(',')}]`;
      expect(data.length).toBeGreaterThan(256 * 1024);
      const started = performance.now();
      expect(dataText(`{"accountId":"acme","data":${data}}`)).toBe(data);
      expect(performance.now() - started).toBeLessThan(500);
    });
  });

  describe('reports data absent', () => {
    it.each([
      ['an object without it', '{"accountId":"acme","op":"delete"}'],
      ['an empty object', '{ }'],
      ['an array', '[{"data":1}]'],
      ['a string', '"data"'],
      ['a number', '42'],
      ['null', 'null'],
      ['a member named like it but not it', '{"Data":1,"data ":2,"dat":3}'],
    ])('for %s', (_case, body) => {
      expect(scanDataMember(body)).toEqual({ kind: 'absent' });
    });
  });

  describe('refuses a repeated top-level member', () => {
    it.each([
      ['data twice', '{"data":1,"data":2}', 'data'],
      ['data twice, once escaped', '{"data":1,"d\\u0061ta":{"other":true}}', 'data'],
      ['another member twice', '{"accountId":"a","data":1,"accountId":"b"}', 'accountId'],
      ['the first repeated name', '{"b":1,"a":1,"a":2,"b":2}', 'a'],
    ])('%s', (_case, body, member) => {
      expect(scanDataMember(body)).toEqual({ kind: 'duplicate', member });
    });

    it('but not a repeated nested member, which is data like any other', () => {
      expect(dataText('{"data":{"a":1,"a":2}}')).toBe('{"a":1,"a":2}');
    });
  });

  describe('refuses what JSON.parse refuses', () => {
    it.each([
      '',
      ' ',
      '{',
      '{"data":1',
      '{"data":1,}',
      '{"data" 1}',
      '{data:1}',
      "{'data':1}",
      '{"data":01}',
      '{"data":1.}',
      '{"data":.5}',
      '{"data":+1}',
      '{"data":-}',
      '{"data":1e}',
      '{"data":1e+}',
      '{"data":NaN}',
      '{"data":Infinity}',
      '{"data":tru}',
      '{"data":nul}',
      '{"data":"\\x41"}',
      '{"data":"\\u12G4"}',
      '{"data":"\\u12"}',
      '{"data":"a\nb"}',
      '{"data":"a\u0000b"}',
      '{"data":"unterminated}',
      '{"data":[1,2}',
      '{"data":[1,]}',
      '{"data":{"a":1]}',
      '{"data":1}}',
      '{"data":1} x',
      '\uFEFF{"data":1}',
      '{"data":1}\u00a0',
      '{\u000b"data":1}',
      '[1] [2]',
    ])('%p', (body) => {
      expect(isValidJson(body)).toBe(false);
      expect(scanDataMember(body)).toEqual({
        kind: 'invalid',
        reason: expect.stringMatching(/ at (the end|position \d+)$/),
      });
    });

    it('without overflowing the stack on deep nesting', () => {
      const depth = 200_000;
      expect(dataText(`{"data":${'['.repeat(depth)}${']'.repeat(depth)}}`)).toHaveLength(2 * depth);
      expect(scanDataMember(`{"data":${'['.repeat(depth)}}`).kind).toBe('invalid');
    });
  });

  describe('properties', () => {
    it('returns exactly the text inserted as data, whatever the value and the whitespace', () => {
      fc.assert(
        fc.property(jsonText, whitespace, whitespace, whitespace, (data, before, afterName, after) => {
          const body = `{"accountId":"acme",${before}"data"${afterName}:${before}${data}${after},"version":1}`;
          expect(dataText(body)).toBe(data);
        }),
        { numRuns: 1000 },
      );
    });

    it('agrees with fc.json values, all of whose texts are valid', () => {
      fc.assert(
        fc.property(fc.json(), (data) => {
          expect(dataText(`{"data":${data}}`)).toBe(data);
        }),
      );
    });

    it('agrees with JSON.parse on what is valid, for texts one edit away from JSON', () => {
      const edited = fc
        .tuple(
          jsonText,
          fc.nat(),
          fc.nat({ max: 3 }),
          fc.constantFrom(...'{}[],:"\\ -+.0123456789eEtrufalsn\u0000\u001f\uFEFFx'),
        )
        .map(([text, at, deleted, inserted]) => {
          const index = text.length === 0 ? 0 : at % text.length;
          return text.slice(0, index) + inserted + text.slice(index + deleted);
        });
      fc.assert(
        fc.property(edited, (text) => {
          const scan = scanDataMember(text);
          expect({ text, valid: scan.kind !== 'invalid' }).toEqual({ text, valid: isValidJson(text) });
        }),
        { numRuns: 3000 },
      );
    });

    it('finds the member JSON.parse would keep when no name repeats', () => {
      const body = fc
        .dictionary(fc.string({ maxLength: 6 }), fc.json({ maxDepth: 1 }), { maxKeys: 5 })
        .chain((members) => fc.tuple(fc.constant(members), fc.option(jsonText, { nil: undefined })))
        .map(([members, data]) => {
          const entries = Object.entries(members)
            .filter(([name]) => name !== 'data')
            .map(([name, value]) => `${JSON.stringify(name)}:${value}`);
          if (data !== undefined) entries.push(`"data":${data}`);
          return { text: `{${entries.join(',')}}`, data };
        });
      fc.assert(
        fc.property(body, ({ text, data }) => {
          expect(dataText(text)).toEqual(data ?? { kind: 'absent' });
        }),
      );
    });
  });
});
