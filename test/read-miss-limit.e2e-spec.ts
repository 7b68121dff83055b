import request from 'supertest';
import { useHarness } from './support/harness';
import { applySet, followingChanges, freshKey, read } from './support/reads';

const LIMIT = 20;
const GUESSER = '203.0.113.7';
const NEIGHBOUR = '198.51.100.2';

/** Starts the flood early in a minute, so that the counting minute does not end half way through a test. */
async function awayFromTheMinuteEnd(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 100));
}

describe('the read-miss limit (READ_MISS_LIMIT_PER_MINUTE, TRUST_PROXY), shared by two instances', () => {
  const harness = useHarness({
    apps: 2,
    env: { READ_MISS_LIMIT_PER_MINUTE: String(LIMIT), TRUST_PROXY: 'true' },
  });
  const [first, second] = [() => harness().apps[0], () => harness().apps[1]];

  // Connected to Redis (the channel follows the shared client's connection).
  beforeAll(async () => {
    await followingChanges(first());
    await followingChanges(second());
  });

  it('answers 429 with Retry-After to every read from a guessing address, and 200 to other addresses', async () => {
    const known = freshKey('known');
    await applySet(first(), [known], { secret: 'data' });
    await awayFromTheMinuteEnd();

    const statuses: number[] = [];
    for (let guess = 0; guess < LIMIT + 5; guess++) {
      statuses.push((await read(first(), freshKey('guess'), { 'x-forwarded-for': `${GUESSER}, 10.0.0.1` })).status);
    }
    expect(statuses.slice(0, LIMIT)).toEqual(Array<number>(LIMIT).fill(404));
    expect(statuses.slice(LIMIT)).toEqual(Array<number>(5).fill(429));

    const refused = await read(first(), known, { 'x-forwarded-for': GUESSER });
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(retryAfter * 1000).toBeGreaterThanOrEqual(60_000 - (Date.now() % 60_000) - 1000);

    const batch = await request(first().url)
      .post('/v1/data/batch-get')
      .set('x-forwarded-for', GUESSER)
      .send({ webhookKeys: [known] });
    expect(batch.status).toBe(429);

    const neighbour = await read(first(), known, { 'x-forwarded-for': NEIGHBOUR });
    expect(neighbour.status).toBe(200);
    expect(neighbour.body.data).toEqual({ secret: 'data' });
  });

  it('counts across instances: the other instance refuses the address at its first miss from it', async () => {
    await awayFromTheMinuteEnd();
    const address = '192.0.2.55';
    for (let guess = 0; guess < LIMIT; guess++) {
      expect((await read(first(), freshKey('guess'), { 'x-forwarded-for': address })).status).toBe(404);
    }
    const elsewhere = await read(second(), freshKey('guess'), { 'x-forwarded-for': address });
    expect(elsewhere.status).toBe(429);
    expect(elsewhere.headers['retry-after']).toBeDefined();
  });

  it('counts the missing keys of a batch-get', async () => {
    await awayFromTheMinuteEnd();
    const address = '192.0.2.77';
    const guesses = Array.from({ length: LIMIT + 1 }, () => freshKey('batch'));
    const response = await request(second().url)
      .post('/v1/data/batch-get')
      .set('x-forwarded-for', address)
      .send({ webhookKeys: guesses });
    expect(response.status).toBe(429);
    expect((await read(second(), freshKey('after'), { 'x-forwarded-for': address })).status).toBe(429);
  });
});
