import fc from 'fast-check';

/*
 * Generators of messages for the fuzz suites, written from the contract (docs/contract.md) rather than from the service's validator, so
 * the fuzz checks the service against the contract instead of against itself.
 */

export const ENTITY_ID = /^[A-Za-z0-9._-]{1,63}$/;
const MAX_KEYS_PER_MESSAGE = 1000;
const KNOWN_FIELDS = ['op', 'accountId', 'flowId', 'webhookKeys', 'data', 'version'];

export type Json = null | boolean | number | string | Json[] | { [field: string]: Json };
export type MessageObject = Record<string, unknown>;

const fromCodes = (min: number, max: number) => fc.integer({ min, max }).map((code) => String.fromCharCode(code));

/** Characters SQS takes in a message body (fauxqs, like SQS, refuses the rest; it also refuses astral ones). */
const sqsChar = fc.oneof(
  { weight: 4, arbitrary: fromCodes(0x20, 0x7e) },
  { weight: 1, arbitrary: fc.constantFrom('\t', '\n', '\r', '"', '{', '}', '[', ']', ',', ':', '\\') },
  { weight: 1, arbitrary: fromCodes(0x80, 0xd7ff) },
  { weight: 1, arbitrary: fromCodes(0xe000, 0xfffd) },
);

/**
 * JSON text SQS (and fauxqs) accepts: U+FFFE, U+FFFF and surrogate pairs (fauxqs refuses astral characters) are
 * written as JSON escapes, which leaves the JSON value unchanged.
 */
export const toSqsJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\uD800-\uDFFF\uFFFE\uFFFF]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`);

/** Any text SQS accepts as a body: mostly not JSON. */
export const sqsText = (maxLength = 200) => fc.string({ unit: sqsChar, minLength: 1, maxLength });

/** Any value an HTTP client may put in a header (Node refuses control characters other than tab). */
export const headerValue = (maxLength = 80) =>
  fc.string({
    unit: fc.oneof(
      { weight: 6, arbitrary: fromCodes(0x20, 0x7e) },
      { weight: 1, arbitrary: fromCodes(0x80, 0xff) },
      fc.constant('\t'),
    ),
    maxLength,
  });

export const entityId = fc.stringMatching(/^[A-Za-z0-9._-]{1,63}$/);
export const webhookKey = fc.stringMatching(/^[\x21-\x7e]{8,40}$/);

/** An account or flow id the contract refuses. */
export const badEntityId = fc.oneof(
  fc.constant(''),
  fc.constant('a'.repeat(64)),
  fc.string({ minLength: 1, maxLength: 70 }).filter((text) => !ENTITY_ID.test(text)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((text) => !ENTITY_ID.test(text)),
);

/** A webhook key the contract refuses: too short, too long, whitespace or non-ASCII inside. */
export const badWebhookKey = fc.oneof(
  fc.stringMatching(/^[\x21-\x7e]{0,7}$/),
  fc.integer({ min: 513, max: 700 }).map((length) => 'k'.repeat(length)),
  fc
    .tuple(webhookKey, fc.constantFrom(' ', '\t', '\n', '\u00a0', 'é', '\u0000', '\u2028', '✓'), fc.nat())
    .map(([key, intruder, at]) => key.slice(0, at % key.length) + intruder + key.slice(at % key.length)),
);

/** A JSON value of a type other than the one asked for. */
const notA = (type: 'string' | 'array' | 'number') =>
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.string({ maxLength: 10 }),
      fc.array(fc.integer(), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
    )
    .filter((value) => {
      if (type === 'array') return !Array.isArray(value);
      if (type === 'number') return typeof value !== 'number';
      return typeof value !== 'string';
    });

const dataValue = fc.jsonValue({ maxDepth: 3 }).filter((value) => value !== null);

/** A message the contract accepts, for `accountId`. */
export const validMessage = (accountId: string): fc.Arbitrary<MessageObject> =>
  fc.oneof(
    fc.record(
      {
        op: fc.constant('set'),
        accountId: fc.constant(accountId),
        flowId: entityId,
        webhookKeys: fc.uniqueArray(webhookKey, { minLength: 1, maxLength: 4 }),
        data: dataValue,
        version: fc.maxSafeNat(),
      },
      { requiredKeys: ['accountId', 'flowId', 'webhookKeys', 'data'] },
    ),
    fc.record(
      {
        op: fc.constant('delete'),
        accountId: fc.constant(accountId),
        flowId: entityId,
        webhookKeys: fc.uniqueArray(webhookKey, { minLength: 1, maxLength: 4 }),
        version: fc.maxSafeNat(),
      },
      { requiredKeys: ['op', 'accountId', 'flowId', 'webhookKeys'] },
    ),
  );

const withField = (message: MessageObject, field: string, value: unknown): MessageObject => ({
  ...message,
  [field]: value,
});
const withoutField = (message: MessageObject, field: string): MessageObject =>
  Object.fromEntries(Object.entries(message).filter(([name]) => name !== field));

/** Webhook key lists the contract refuses. */
const badWebhookKeyList = (keys: string[]) =>
  fc.oneof(
    fc.constant([]),
    fc.constant([...keys, keys[0]]),
    fc
      .integer({ min: MAX_KEYS_PER_MESSAGE + 1, max: MAX_KEYS_PER_MESSAGE + 300 })
      .map((count) => Array.from({ length: count }, (_, index) => `key-${String(index).padStart(6, '0')}`)),
    fc.tuple(badWebhookKey, fc.nat()).map(([bad, at]) => {
      const list = [...keys];
      list.splice(at % (list.length + 1), 0, bad);
      return list;
    }),
    fc.tuple(notA('string'), fc.nat()).map(([bad, at]) => {
      const list: unknown[] = [...keys];
      list.splice(at % (list.length + 1), 0, bad);
      return list;
    }),
    notA('array'),
  );

/** A valid message with exactly one thing wrong: a field broken, of the wrong type, missing or unknown. */
export const brokenMessage = (accountId: string): fc.Arbitrary<MessageObject> =>
  validMessage(accountId).chain((message) => {
    const keys = message.webhookKeys as string[];
    const breakages: fc.Arbitrary<MessageObject>[] = [
      fc.oneof(badEntityId, notA('string')).map((bad) => withField(message, 'accountId', bad)),
      fc.oneof(badEntityId, notA('string')).map((bad) => withField(message, 'flowId', bad)),
      badWebhookKeyList(keys).map((bad) => withField(message, 'webhookKeys', bad)),
      fc
        .oneof(fc.string({ maxLength: 10 }), notA('string'))
        .filter((op) => op !== 'set' && op !== 'delete')
        .map((bad) => withField(message, 'op', bad)),
      fc
        .oneof(
          fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }),
          fc.double({ noNaN: true, noDefaultInfinity: true }).filter((value) => !Number.isInteger(value)),
          fc.constantFrom(2 ** 53, 1e20, Number.MAX_VALUE),
          notA('number'),
        )
        .map((bad) => withField(message, 'version', bad)),
      fc.constantFrom('accountId', 'flowId', 'webhookKeys').map((field) => withoutField(message, field)),
      fc
        .string({ minLength: 1, maxLength: 12 })
        // __proto__ and constructor are refused earlier, as prototype poisoning (poisonedJson covers them).
        .filter((field) => !KNOWN_FIELDS.includes(field) && field !== '__proto__' && field !== 'constructor')
        .chain((field) => fc.jsonValue({ maxDepth: 1 }).map((value) => withField(message, field, value))),
    ];
    if (message.op === 'delete') breakages.push(dataValue.map((data) => withField(message, 'data', data)));
    else
      breakages.push(
        fc
          .constantFrom('missing', 'null')
          .map((how) => (how === 'null' ? withField(message, 'data', null) : withoutField(message, 'data'))),
      );
    return fc.oneof(...breakages);
  });

/** JSON text nested 200 to 12000 levels deep (as deep as fits in `maxBytes`): around any sane limit and far over. */
export const deepJson = (maxBytes: number) =>
  fc
    .tuple(
      fc.oneof(fc.integer({ min: 200, max: 300 }), fc.integer({ min: 1000, max: 12_000 })),
      fc.constantFrom('array', 'object'),
    )
    .map(([depth, shape]) => {
      const levels = Math.min(depth, Math.floor(maxBytes / (shape === 'array' ? 2 : 6)));
      return shape === 'array'
        ? `${'['.repeat(levels)}${']'.repeat(levels)}`
        : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    });

/** A deeply nested `data` in a message the contract refuses for its keys. */
export const deeplyNestedMessage = (accountId: string, maxBytes: number) =>
  deepJson(maxBytes - 100).map(
    (nested) => `{"accountId":${JSON.stringify(accountId)},"flowId":"deep","webhookKeys":[],"data":${nested}}`,
  );

/** Bodies that try prototype poisoning; the contract's JSON parsing refuses them. */
export const poisonedJson = (accountId: string) =>
  fc.constantFrom(
    `{"__proto__":{"polluted":true},"accountId":"${accountId}","flowId":"f","webhookKeys":["key-00000001"],"data":1}`,
    `{"accountId":"${accountId}","flowId":"f","webhookKeys":["key-00000001"],"data":{"__proto__":{"polluted":true}}}`,
    `{"accountId":"${accountId}","flowId":"f","webhookKeys":["key-00000001"],"data":{"constructor":{"prototype":{"polluted":true}}}}`,
  );

/** Random JSON that is certainly not a message: it lacks webhookKeys. */
export const randomJsonNotAMessage = fc
  .jsonValue({ maxDepth: 4 })
  .filter((value) => typeof value !== 'object' || value === null || Array.isArray(value) || !('webhookKeys' in value));

/** A set message valid in every field but its data, nested deeper than any parser should follow (257 to 5000 levels). */
export const tooDeepMessage = (accountId: string) =>
  fc.tuple(validMessage(accountId), fc.integer({ min: 257, max: 5000 })).map(([message, levels]) => {
    const withoutData = toSqsJson({ ...message, op: 'set', data: undefined });
    return withoutData.replace(/}$/, `,"data":${'['.repeat(levels)}${']'.repeat(levels)}}`);
  });

/** A message with arrays so long (data or webhook keys) that it exceeds `maxBytes`. */
export const oversizedMessage = (accountId: string, maxBytes: number) =>
  fc
    .tuple(validMessage(accountId), fc.constantFrom('data', 'webhookKeys'), fc.integer({ min: 1, max: 3 }))
    .map(([message, field, factor]) => {
      const count = Math.ceil((maxBytes * factor) / (field === 'data' ? 2 : 16));
      const huge = Array.from({ length: count }, (_, index) =>
        field === 'data' ? index % 10 : `key-${String(index).padStart(9, '0')}`,
      );
      return toSqsJson({ ...message, op: 'set', [field]: huge });
    });
