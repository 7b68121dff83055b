import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { scanDataMember } from '../src/message/data-member';
import { ACME, eventually } from './support/app';
import { useHarness } from './support/harness';
import { drainMessages, sendRaw } from './support/sqs';

/*
 * The contract (docs/contract.md): data is kept byte for byte. What a consumer reads as `data` is the producer's text of `data`, whether
 * the message came through the gateway or straight to SQS; the only change allowed is a character SQS refuses
 * written as its \u escape.
 */

/** Number literals that JSON.parse followed by JSON.stringify would rewrite, or turn into null. */
const NUMBER_LITERALS = [
  '123456789012345678901234567890',
  '1.50',
  '-0',
  '1e400',
  '-1e400',
  '1E-7',
  '0.1e+2',
  '5e-324',
  '9007199254740993',
];

/** String literals whose escapes a re-serialisation would rewrite. fauxqs, unlike SQS, refuses astral characters raw. */
const STRING_LITERALS = [
  '"\\u00e9"',
  '"\\/"',
  '"\\ud83d\\ude00"',
  '"\\"}{]["',
  '"\\b\\f\\n\\r\\t\\\\"',
  '"é\\u00E9e\\u0301"',
  '"\\u0000"',
];

const whitespace = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r'), maxLength: 3 });

/** Characters a producer may write raw in a string: anything but astral characters (see STRING_LITERALS). */
const bmpChar = fc
  .oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    fc.integer({ min: 0, max: 0x1f }),
    fc.integer({ min: 0xa0, max: 0xd7ff }),
    fc.integer({ min: 0xe000, max: 0xfffd }),
  )
  .map((code) => String.fromCharCode(code));

/** JSON text as a producer might write it: any value, odd whitespace, escapes and number literals kept as written. */
const dataText: fc.Arbitrary<string> = fc
  .letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.json({ maxDepth: 2, stringUnit: bmpChar }),
      fc
        .tuple(fc.json({ maxDepth: 2, stringUnit: bmpChar }), whitespace)
        .map(([json, indent]) => JSON.stringify(JSON.parse(json), null, indent)),
      fc.constantFrom(...NUMBER_LITERALS, ...STRING_LITERALS),
      fc
        .array(fc.tuple(whitespace, tie('value'), whitespace), { maxLength: 3 })
        .map((items) => `[${items.map(([before, item, after]) => before + item + after).join(',')}]`),
      fc
        .array(fc.tuple(whitespace, fc.constantFrom('"a"', '"data"', '"\\u0064"', '"é"'), whitespace, tie('value')), {
          maxLength: 3,
        })
        .map(
          (members) =>
            `{${members.map(([before, name, after, value]) => `${before}${name}${after}:${value}`).join(',')}}`,
        ),
    ),
  }))
  .value // data null is refused; __proto__ and constructor keys are refused as prototype poisoning.
  .filter((text) => text.trim() !== 'null' && !/__proto__|constructor/.test(text));

interface DataCase {
  route: 'gateway' | 'sqs';
  data: string;
  /** Whitespace around the data member, and around the whole body. */
  padding: [string, string, string, string];
}

const dataCase: fc.Arbitrary<DataCase> = fc.record({
  route: fc.constantFrom('gateway', 'sqs'),
  data: dataText,
  padding: fc.tuple(whitespace, whitespace, whitespace, whitespace),
});

describe('data is kept byte for byte (gateway and direct SQS → worker → Redis → query)', () => {
  const harness = useHarness({ apps: 1 });

  /** A message's text with `data` written as given, under a webhook key and a flow of its own. */
  function messageText(webhookKey: string, flowId: string, data: string, padding = ['', '', '', '']): string {
    const [outer, beforeColon, afterColon, afterData] = padding;
    return `${outer}{"accountId":"${ACME.accountId}","flowId":"${flowId}","webhookKeys":["${webhookKey}"],${outer}"data"${beforeColon}:${afterColon}${data}${afterData}}${outer}`;
  }

  function post(body: string | Uint8Array, apiKey: string | null = ACME.apiKey): Promise<Response> {
    const {
      apps: [service],
    } = harness();
    return fetch(`${service.url}/v1/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey !== null && { 'x-api-key': apiKey }) },
      body,
    });
  }

  /** The exact text of `data` in the raw GET /v1/data answer, once the key has data. */
  async function storedDataText(webhookKey: string): Promise<string> {
    const {
      apps: [service],
    } = harness();
    const body = await eventually(
      async () => {
        const response = await fetch(`${service.url}/v1/data`, { headers: { 'x-webhook-key': webhookKey } });
        return response.status === 200 ? response.text() : undefined;
      },
      15_000,
      `data under ${webhookKey}`,
    );
    const scan = scanDataMember(body);
    if (scan.kind !== 'found') throw new Error(`GET /v1/data answered without one data member: ${body}`);
    return body.slice(scan.start, scan.end);
  }

  async function submit(route: DataCase['route'], flowId: string, text: string): Promise<void> {
    if (route === 'gateway') {
      const response = await post(text);
      expect({ status: response.status, text }).toEqual({ status: 202, text });
    } else {
      const { sqs, queues } = harness();
      await sendRaw(sqs, queues.queueUrl, text, `${ACME.accountId}:${flowId}`);
    }
  }

  it('reads back the exact text of any data, sent through the gateway or straight to SQS', async () => {
    const started = Date.now();
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(dataCase, { minLength: 1, maxLength: 3 }), async (cases) => {
        const sent = await Promise.all(
          cases.map(async ({ route, data, padding }) => {
            const webhookKey = `bytes-${randomUUID()}`;
            const flowId = `bytes-${randomUUID().slice(0, 8)}`;
            await submit(route, flowId, messageText(webhookKey, flowId, data, padding));
            return { route, data, webhookKey };
          }),
        );
        for (const { route, data, webhookKey } of sent) {
          expect({ route, stored: await storedDataText(webhookKey) }).toEqual({ route, stored: data });
        }
        checked += sent.length;
      }),
      // Each run waits for the worker: 100 runs keep the suite well under a minute. Shrinking would wait too.
      { numRuns: 100, endOnFailure: true },
    );
    expect(checked).toBeGreaterThanOrEqual(100);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('writes U+FFFE and U+FFFF inside a string as their \\u escapes, and nothing else differently', async () => {
    const webhookKey = `bytes-${randomUUID()}`;
    expect((await post(messageText(webhookKey, 'bytes-fffe', '{ "s" : "a\uFFFEb\uFFFF\\u00e9é" }'))).status).toBe(202);
    expect(await storedDataText(webhookKey)).toBe('{ "s" : "a\\ufffeb\\uffff\\u00e9é" }');
  });

  it('accepts 1e400, which JSON.parse reads as Infinity, and stores it as written', async () => {
    const webhookKey = `bytes-${randomUUID()}`;
    expect((await post(messageText(webhookKey, 'bytes-huge', '[1e400, -1e400, 1.50]'))).status).toBe(202);
    expect(await storedDataText(webhookKey)).toBe('[1e400, -1e400, 1.50]');
  });

  it('answers 400 to a body that is not UTF-8, after the key check', async () => {
    const text = messageText(`bytes-${randomUUID()}`, 'bytes-utf8', '"caf\u00e9"');
    const bytes = Buffer.from(text);
    // The é (C3 A9) loses its lead byte: a lone continuation byte.
    const broken = Buffer.concat([bytes.subarray(0, bytes.indexOf(0xc3)), bytes.subarray(bytes.indexOf(0xc3) + 1)]);

    const withoutKey = await post(broken, null);
    expect(withoutKey.status).toBe(401);
    const response = await post(broken);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'The body is not valid JSON: the body is not valid UTF-8',
    });
  });

  it('answers 400 naming a top-level field that appears twice, and dead-letters such a message sent to SQS', async () => {
    const {
      sqs,
      queues,
      apps: [service],
    } = harness();
    const webhookKey = `bytes-${randomUUID()}`;
    const text = messageText(webhookKey, 'bytes-twice', '{"checked":true}').replace(/}$/, ',"data":{"checked":false}}');
    const response = await post(text);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      statusCode: 400,
      details: [{ field: 'data', message: 'property data appears more than once; each may appear only once' }],
    });

    const messageId = await sendRaw(sqs, queues.queueUrl, text, `${ACME.accountId}:bytes-twice`);
    const [letter] = await drainMessages(sqs, queues.dlqUrl, 1);
    expect(letter.MessageAttributes?.originalMessageId?.StringValue).toBe(messageId);
    expect(letter.MessageAttributes?.errorCode?.StringValue).toBe('INVALID_MESSAGE');
    expect(letter.MessageAttributes?.errorMessage?.StringValue).toBe(
      'data: property data appears more than once; each may appear only once',
    );
    expect(letter.Body).toBe(text);
    expect((await fetch(`${service.url}/v1/data`, { headers: { 'x-webhook-key': webhookKey } })).status).toBe(404);
  });
});
