import { SQSClient } from '@aws-sdk/client-sqs';
import { AppConfig } from '../src/config/app-config';
import { DeadLetterMessage, DeadLetterQueue } from '../src/queue/dead-letter-queue';
import { createQueuePair, queueDepth, sendRaw, testSqsClient } from './support/sqs';

/**
 * A walk keeps every message it received in flight until it ends (up to 20 s, the whole queue): what it keeps of
 * the ones it lets go must be their receipts, not their bodies (up to MAX_MESSAGE_BYTES each). The sweep walks the
 * whole queue on every scheduler process, which runs under a 128 MB heap limit (docker/compose.yaml): a few hundred
 * dead letters of 256 KiB held with their bodies exhaust that heap and crash the process, at every sweep.
 */
describe('DeadLetterQueue walk memory', () => {
  let sqs: SQSClient;

  beforeAll(() => {
    sqs = testSqsClient();
  });

  afterAll(() => sqs?.destroy());

  it('keeps no body of a message the visitor let go, and still lets every one go', async () => {
    const { dlqUrl } = await createQueuePair(sqs);
    const queue = new DeadLetterQueue(sqs, { sqs: { dlqUrl } } as unknown as AppConfig);
    const body = JSON.stringify({ data: 'z'.repeat(64 * 1024) });
    for (let index = 0; index < 3; index++) await sendRaw(sqs, dlqUrl, body, `group-${index}`);

    const visited: DeadLetterMessage[] = [];
    const bodyLengths: number[] = [];
    const result = await queue.walk((message) => {
      visited.push(message);
      bodyLengths.push(message.body.length);
      return Promise.resolve('release' as const);
    }, Date.now() + 10_000);

    // The visitor saw every body whole; nothing the walk kept afterwards still holds one.
    expect(bodyLengths).toEqual([body.length, body.length, body.length]);
    expect(result.held).toEqual([]);
    expect(visited.map((message) => message.body)).toEqual(['', '', '']);
    expect(await queueDepth(sqs, dlqUrl)).toBe(3);
  });
});
