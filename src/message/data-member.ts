/**
 * Finds the exact text of the top-level `data` member in a message body, so that data reaches Redis as the
 * producer wrote it (`1.50`, `-0`, `1e400`, big integers, whitespace, escapes): JSON.parse and JSON.stringify
 * would rewrite all of those.
 *
 * One pass over the text, validating it by the same grammar as JSON.parse (RFC 8259; whitespace is space, tab,
 * LF and CR only; no byte order mark), with a stack of its own instead of recursion so that no nesting depth
 * can overflow the call stack. Nothing is allocated per character: only the names of top-level members are
 * sliced out, to refuse a name that appears twice (JSON.parse keeps the last, so a second `data` could slip a
 * different value past validation).
 */
export type DataMemberScan =
  /** `data` is the text from `start` (inclusive) to `end` (exclusive). */
  | { kind: 'found'; start: number; end: number }
  /** Valid JSON without a top-level `data` member (also when the top-level value is not an object). */
  | { kind: 'absent' }
  /** Valid JSON whose top-level object names `member` more than once. */
  | { kind: 'duplicate'; member: string }
  | { kind: 'invalid'; reason: string };

export function scanDataMember(text: string): DataMemberScan {
  try {
    return scanDocument(text);
  } catch (error) {
    if (error instanceof InvalidJson) return { kind: 'invalid', reason: error.message };
    throw error;
  }
}

class InvalidJson extends Error {}

/** Character codes the scanner compares against (a plain object: comparisons stay between numbers). */
const Char = {
  Tab: 0x09,
  LineFeed: 0x0a,
  CarriageReturn: 0x0d,
  Space: 0x20,
  Quote: 0x22,
  Plus: 0x2b,
  Comma: 0x2c,
  Minus: 0x2d,
  Dot: 0x2e,
  Slash: 0x2f,
  Zero: 0x30,
  Nine: 0x39,
  Colon: 0x3a,
  UpperA: 0x41,
  UpperE: 0x45,
  UpperF: 0x46,
  OpenBracket: 0x5b,
  Backslash: 0x5c,
  CloseBracket: 0x5d,
  LowerA: 0x61,
  LowerB: 0x62,
  LowerE: 0x65,
  LowerF: 0x66,
  LowerN: 0x6e,
  LowerR: 0x72,
  LowerT: 0x74,
  LowerU: 0x75,
  OpenBrace: 0x7b,
  CloseBrace: 0x7d,
} as const;

/** What an open container on the stack is. */
const enum Container {
  Object,
  Array,
}

function scanDocument(text: string): DataMemberScan {
  let position = skipWhitespace(text, 0);
  let result: DataMemberScan;
  if (text.charCodeAt(position) === Char.OpenBrace) {
    [result, position] = scanTopLevelObject(text, position);
  } else {
    position = scanValue(text, position);
    result = { kind: 'absent' };
  }
  position = skipWhitespace(text, position);
  if (position < text.length) fail(text, position, 'unexpected text after the JSON value');
  return result;
}

/** Scans the top-level object at `start`, noting where `data` is and whether a member name repeats. */
function scanTopLevelObject(text: string, start: number): [DataMemberScan, number] {
  const names = new Set<string>();
  let duplicate: string | undefined;
  let data: DataMemberScan = { kind: 'absent' };
  let position = skipWhitespace(text, start + 1);
  if (text.charCodeAt(position) === Char.CloseBrace) return [data, position + 1];
  for (;;) {
    const nameEnd = scanMemberName(text, position);
    const name = memberName(text, position, nameEnd);
    if (names.has(name)) duplicate ??= name;
    names.add(name);
    const valueStart = skipWhitespace(text, scanColon(text, nameEnd));
    position = scanValue(text, valueStart);
    if (name === 'data') data = { kind: 'found', start: valueStart, end: position };
    position = skipWhitespace(text, position);
    const next = text.charCodeAt(position);
    if (next === Char.CloseBrace) break;
    if (next !== Char.Comma) fail(text, position, 'expected "," or "}" after an object member');
    position = skipWhitespace(text, position + 1);
  }
  return [duplicate === undefined ? data : { kind: 'duplicate', member: duplicate }, position + 1];
}

/** The decoded name of a member whose quoted name runs from `start` to `end` (exclusive). */
function memberName(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end - 1);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/**
 * Scans one JSON value starting at `start` (no whitespace before it) and returns the position just after it.
 * Iterative: `open` holds the containers entered and not yet closed.
 */
function scanValue(text: string, start: number): number {
  const open: Container[] = [];
  let position = start;
  for (;;) {
    // Here a value begins.
    const char = text.charCodeAt(position);
    if (char === Char.OpenBrace) {
      position = skipWhitespace(text, position + 1);
      if (text.charCodeAt(position) === Char.CloseBrace) {
        position++;
      } else {
        open.push(Container.Object);
        position = skipWhitespace(text, scanColon(text, scanMemberName(text, position)));
        continue;
      }
    } else if (char === Char.OpenBracket) {
      position = skipWhitespace(text, position + 1);
      if (text.charCodeAt(position) === Char.CloseBracket) {
        position++;
      } else {
        open.push(Container.Array);
        continue;
      }
    } else {
      position = scanScalar(text, position, char);
    }
    // Here a value has ended: close containers until one continues with another item, or none is open.
    for (;;) {
      if (open.length === 0) return position;
      position = skipWhitespace(text, position);
      const next = text.charCodeAt(position);
      const container = open[open.length - 1];
      if (next === Char.Comma) {
        position = skipWhitespace(text, position + 1);
        if (container === Container.Object) {
          position = skipWhitespace(text, scanColon(text, scanMemberName(text, position)));
        }
        break;
      }
      if (container === Container.Object ? next !== Char.CloseBrace : next !== Char.CloseBracket) {
        fail(text, position, container === Container.Object ? 'expected "," or "}"' : 'expected "," or "]"');
      }
      open.pop();
      position++;
    }
  }
}

/** Scans a member's quoted name; returns the position after its closing quote. */
function scanMemberName(text: string, start: number): number {
  if (text.charCodeAt(start) !== Char.Quote) fail(text, start, 'expected a member name in double quotes');
  return scanString(text, start);
}

/** Scans the colon after a member name, and whitespace before it; returns the position after the colon. */
function scanColon(text: string, start: number): number {
  const position = skipWhitespace(text, start);
  if (text.charCodeAt(position) !== Char.Colon) fail(text, position, 'expected ":" after a member name');
  return position + 1;
}

function scanScalar(text: string, start: number, char: number): number {
  if (char === Char.Quote) return scanString(text, start);
  if (char === Char.Minus || isDigit(char)) return scanNumber(text, start);
  if (char === Char.LowerT) return scanLiteral(text, start, 'true');
  if (char === Char.LowerF) return scanLiteral(text, start, 'false');
  if (char === Char.LowerN) return scanLiteral(text, start, 'null');
  return fail(text, start, start >= text.length ? 'expected a value' : 'unexpected character');
}

/** Scans a string from its opening quote; returns the position after the closing quote. */
function scanString(text: string, start: number): number {
  let position = start + 1;
  for (;;) {
    const char = text.charCodeAt(position);
    if (char === Char.Quote) return position + 1;
    if (char === Char.Backslash) {
      position = scanEscape(text, position);
    } else if (Number.isNaN(char)) {
      fail(text, position, 'unterminated string');
    } else if (char < Char.Space) {
      fail(text, position, 'unescaped control character in a string');
    } else {
      position++;
    }
  }
}

/** Scans an escape sequence from its backslash; returns the position after it. */
function scanEscape(text: string, start: number): number {
  const char = text.charCodeAt(start + 1);
  if (char === Char.LowerU) {
    for (let offset = 2; offset < 6; offset++) {
      if (!isHexDigit(text.charCodeAt(start + offset))) fail(text, start, 'bad \\u escape');
    }
    return start + 6;
  }
  if (
    char === Char.Quote ||
    char === Char.Backslash ||
    char === Char.Slash ||
    char === Char.LowerB ||
    char === Char.LowerF ||
    char === Char.LowerN ||
    char === Char.LowerR ||
    char === Char.LowerT
  ) {
    return start + 2;
  }
  return fail(text, start, 'bad escape');
}

/** `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?` */
function scanNumber(text: string, start: number): number {
  let position = text.charCodeAt(start) === Char.Minus ? start + 1 : start;
  if (text.charCodeAt(position) === Char.Zero) {
    position++;
  } else {
    position = scanDigits(text, position);
  }
  if (text.charCodeAt(position) === Char.Dot) position = scanDigits(text, position + 1);
  const exponent = text.charCodeAt(position);
  if (exponent === Char.LowerE || exponent === Char.UpperE) {
    const sign = text.charCodeAt(position + 1);
    position = scanDigits(text, sign === Char.Plus || sign === Char.Minus ? position + 2 : position + 1);
  }
  return position;
}

/** Scans one or more digits. */
function scanDigits(text: string, start: number): number {
  let position = start;
  while (isDigit(text.charCodeAt(position))) position++;
  if (position === start) fail(text, start, 'expected a digit');
  return position;
}

function scanLiteral(text: string, start: number, literal: 'true' | 'false' | 'null'): number {
  if (!text.startsWith(literal, start)) fail(text, start, 'unexpected character');
  return start + literal.length;
}

function skipWhitespace(text: string, start: number): number {
  let position = start;
  for (;;) {
    const char = text.charCodeAt(position);
    if (char !== Char.Space && char !== Char.LineFeed && char !== Char.CarriageReturn && char !== Char.Tab) {
      return position;
    }
    position++;
  }
}

function isDigit(char: number): boolean {
  return char >= Char.Zero && char <= Char.Nine;
}

function isHexDigit(char: number): boolean {
  return isDigit(char) || (char >= Char.LowerA && char <= Char.LowerF) || (char >= Char.UpperA && char <= Char.UpperF);
}

function fail(text: string, at: number, problem: string): never {
  throw new InvalidJson(`${problem} at ${at >= text.length ? 'the end' : `position ${at}`}`);
}
