import { describe, expect, it } from '@jest/globals';
import { splitMessages } from './messages';

describe('splitMessages', () => {
  it('keeps each NDJSON line as it is, skipping blank lines, with its line number', () => {
    const text = '{"a":1.50}\r\n\n  {"b": 12345678901234567890}\n';
    expect(splitMessages(text, 'upload.ndjson')).toEqual({
      messages: [
        { label: 'line 1', text: '{"a":1.50}' },
        { label: 'line 3', text: '  {"b": 12345678901234567890}' },
      ],
    });
  });

  it('splits a JSON array into its items without re-serialising them, past brackets and commas in strings', () => {
    const text = '\uFEFF[ {"s":"a,]}\\"[{"}, {"n":1e400,"l":[1,2,{"x":"y"}]} ,\n{"d":-0} ]';
    expect(splitMessages(text, 'upload.json')).toEqual({
      messages: [
        { label: 'item 1', text: '{"s":"a,]}\\"[{"}' },
        { label: 'item 2', text: '{"n":1e400,"l":[1,2,{"x":"y"}]}' },
        { label: 'item 3', text: '{"d":-0}' },
      ],
    });
  });

  it('takes one pretty-printed message as one, and reports an unclosed array or trailing text', () => {
    expect(splitMessages('{\n  "a": 1\n}\n', 'one.json').messages).toEqual([
      { label: 'item 1', text: '{\n  "a": 1\n}' },
    ]);
    expect(splitMessages('[{"a":1}, {"b":', 'x.json').problem).toBe('The array is not closed');
    expect(splitMessages('[{"a":1}] extra', 'x.json').problem).toMatch(/^Text after the array's end: extra/);
    expect(splitMessages('  \n', '')).toEqual({ messages: [], problem: 'Nothing to upload' });
  });

  it('reads a .ndjson file line by line even when its first line alone is an array', () => {
    expect(splitMessages('[1]\n[2]', 'two.ndjson').messages.map((message) => message.text)).toEqual(['[1]', '[2]']);
  });
});
