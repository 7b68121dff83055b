import { DeleteMessageCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ACME, eventually } from './support/app';
import {
  brokenMessage,
  oversizedMessage,
  poisonedJson,
  randomJsonNotAMessage,
  sqsText,
  toSqsJson,
  tooDeepMessage,
  validMessage,
} from './support/fuzz-arbitraries';
import { useHarness } from './support/harness';
import { sendRaw } from './support/sqs';

const MAX_MESSAGE_BYTES = 65_536;

/** A body sent straight to the queue, and the dead-letter codes the contract allows for it. */
interface PoisonMessage {
  body: string;
  /** The MessageGroupId to send it under, where the group matters (else one of its own). */
  groupId?: string;
  codes: string[];
}

/** JSON that may hold a `__proto__` or `constructor` key (fast-check likes those) is refused as poisoning. */
const jsonCodes = (body: string) =>
  body.includes('"__proto__"') || body.includes('"constructor"')
    ? ['INVALID_MESSAGE', 'INVALID_JSON']
    : ['INVALID_MESSAGE'];

const groupOf = (body: string) => {
  const { accountId, flowId } = JSON.parse(body) as { accountId: string; flowId: string };
  return `${accountId}:${flowId}`;
};

const poisonMessage: fc.Arbitrary<PoisonMessage> = fc.oneof(
  sqsText(200).map((body) => ({ body, codes: ['INVALID_JSON', 'INVALID_MESSAGE'] })),
  randomJsonNotAMessage.map((value) => toSqsJson(value)).map((body) => ({ body, codes: jsonCodes(body) })),
  {
    weight: 3,
    arbitrary: brokenMessage(ACME.accountId)
      .map((message) => toSqsJson(message))
      .map((body) => ({ body, codes: jsonCodes(body) })),
  },
  // Under its own group, so that nothing but the depth stands between it and Redis.
  tooDeepMessage(ACME.accountId).map((body) => ({ body, groupId: groupOf(body), codes: ['INVALID_JSON'] })),
  oversizedMessage(ACME.accountId, MAX_MESSAGE_BYTES).map((body) => ({ body, codes: ['MESSAGE_TOO_LARGE'] })),
  poisonedJson(ACME.accountId).map((body) => ({ body, codes: ['INVALID_JSON'] })),
  validMessage(ACME.accountId)
    .filter((message) => !jsonCodes(toSqsJson(message)).includes('INVALID_JSON'))
    .map((message) => ({
      body: toSqsJson(message),
      groupId: `${ACME.accountId}:not-${String(message.flowId)}`,
      codes: ['MESSAGE_GROUP_MISMATCH'],
    })),
);

/**
 * Takes messages off the dead-letter queue until every id in `expected` (by originalMessageId) is there or the
 * time is up, and returns them by original id.
 */
async function takeLetters(
  sqs: SQSClient,
  dlqUrl: string,
  expected: Set<string>,
  timeoutMs: number,
): Promise<Map<string, Message>> {
  const letters = new Map<string, Message>();
  const deadline = Date.now() + timeoutMs;
  while (letters.size < expected.size && Date.now() < deadline) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    for (const message of received.Messages ?? []) {
      letters.set(
        message.MessageAttributes?.originalMessageId?.StringValue ?? `unexpected ${message.MessageId}`,
        message,
      );
      await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return letters;
}

describe('SQS fuzz: a message that can never be applied goes to the dead-letter queue with its reason', () => {
  const harness = useHarness({
    // The test takes the dead letters off the queue itself; the service's sweep would hold them while it walks.
    env: { MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES), DEAD_LETTER_SWEEP_SECONDS: '86400' },
    apps: 1,
  });

  it('moves every random, broken or oversized body to the DLQ unchanged, with errorCode and errorMessage, writing nothing', async () => {
    const {
      redis: { inspect },
      sqs,
      queues,
      apps: [service],
    } = harness();
    // What a dead letter may leave in Redis: the producer's view of it (its status) and the operator's (the
    // dead-letter index, and the sweep's lease). No data.
    const dataKeys = async () =>
      (await inspect.keys('*')).filter((key) => !/^sg:(status:|\{dead-letters\}:|lease:)/.test(key)).sort();
    const keysBefore = await dataKeys();
    let moved = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(poisonMessage, { minLength: 1, maxLength: 12 }), async (poisons) => {
        const run = randomUUID().slice(0, 8);
        const sent = new Map<string, PoisonMessage>();
        await Promise.all(
          poisons.map(async (poison, index) => {
            // A group of its own per message: fauxqs hands out one message per group per receive.
            sent.set(
              await sendRaw(sqs, queues.queueUrl, poison.body, poison.groupId ?? `fuzz-${run}-${index}`),
              poison,
            );
          }),
        );
        const letters = await takeLetters(sqs, queues.dlqUrl, new Set(sent.keys()), 20_000);
        const missing = [...sent].filter(([id]) => !letters.has(id)).map(([, poison]) => poison.body.slice(0, 300));
        expect({ missing, moved: letters.size }).toEqual({ missing: [], moved: sent.size });
        for (const [id, letter] of letters) {
          const poison = sent.get(id) as PoisonMessage;
          const context = `body ${JSON.stringify(poison.body.slice(0, 300))}`;
          expect({ context, body: letter.Body }).toEqual({ context, body: poison.body });
          const code = letter.MessageAttributes?.errorCode?.StringValue ?? '(none)';
          expect({ context, code, allowed: poison.codes.includes(code) }).toEqual({ context, code, allowed: true });
          expect(letter.MessageAttributes?.errorMessage?.StringValue).toMatch(/\S/);
        }
        moved += letters.size;
      }),
      // Each shrinking step could wait out the timeout; the failure names the bodies instead.
      { numRuns: 100, endOnFailure: true },
    );
    expect(moved).toBeGreaterThanOrEqual(100);
    expect(await dataKeys()).toEqual(keysBefore);

    // The worker survived all of it: a good message is still stored.
    const key = `wh-after-fuzz-${randomUUID()}`;
    await request(service.url)
      .post('/v1/records')
      .set('x-api-key', ACME.apiKey)
      .send({ accountId: ACME.accountId, flowId: 'after-fuzz', webhookKeys: [key], data: { alive: true } })
      .expect(202);
    const stored = await eventually(
      async () => {
        const response = await request(service.url).get('/v1/data').set('x-webhook-key', key);
        return response.status === 200 ? response : undefined;
      },
      20_000,
      'a good message stored after the fuzz',
    );
    expect(stored.body.data).toEqual({ alive: true });
  });
});
