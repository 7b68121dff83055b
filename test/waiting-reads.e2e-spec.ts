import { getRedisConnectionToken } from '@nestjs-modules/ioredis';
import Redis from 'ioredis';
import http from 'node:http';
import request from 'supertest';
import { KeyLayout, WebhookKeyDigester } from '../src/store/key-layout';
import { QueryService } from '../src/query/query.service';
import { RecordReader } from '../src/store/record-reader';
import { ACME, eventually, TestApp } from './support/app';
import { useHarness } from './support/harness';
import {
  applyDelete,
  applySet,
  followingChanges,
  freshKey,
  read,
  send,
  untilWaiting,
  waiterCount,
} from './support/reads';

/**
 * Waiting reads and the read cache against a private redis-server, with two application instances on it: `writer`
 * applies changes as a worker does, `reader` serves the reads, so every wake-up and every invalidation crosses from
 * one process's Redis client to the other's through Redis.
 */
describe('waiting reads and the coherent read cache (standalone Redis, two instances)', () => {
  const harness = useHarness({ apps: 2 });
  const writer = () => harness().apps[0];
  const reader = () => harness().apps[1];

  beforeAll(async () => {
    await followingChanges(writer());
    await followingChanges(reader());
  });

  it('answers a waiter on a key that does not exist yet within 1 s of the set, with Preference-Applied', async () => {
    const key = freshKey();
    const pending = send(read(reader(), key, { prefer: 'wait=20' }));
    await untilWaiting(reader(), 1);
    const setAt = Date.now();
    await applySet(writer(), [key], { step: 'appeared' });
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ step: 'appeared' });
    expect(response.headers['preference-applied']).toBe('wait=20');
    expect(at - setAt).toBeLessThan(1000);
  });

  it('answers a waiter holding the current ETag within 1 s of a set, with the new document and ETag', async () => {
    const key = freshKey();
    await applySet(writer(), [key], { step: 1 });
    const first = await read(reader(), key);
    const pending = send(read(reader(), key, { prefer: 'wait=20', 'if-none-match': first.headers.etag }));
    await untilWaiting(reader(), 1);
    const setAt = Date.now();
    await applySet(writer(), [key], { step: 2 });
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ step: 2 });
    expect(response.headers.etag).not.toBe(first.headers.etag);
    expect(at - setAt).toBeLessThan(1000);
  });

  it('answers a waiter within 1 s of a delete with 404', async () => {
    const key = freshKey();
    await applySet(writer(), [key], { step: 1 });
    const etag = (await read(reader(), key)).headers.etag;
    const pending = send(read(reader(), key, { prefer: 'wait=20', 'if-none-match': etag }));
    await untilWaiting(reader(), 1);
    const deletedAt = Date.now();
    await applyDelete(writer(), [key]);
    const { response, at } = await pending;
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(at - deletedAt).toBeLessThan(1000);
  });

  it('answers 304 once the wait is over and nothing changed, and 404 for a key that never appeared', async () => {
    const key = freshKey();
    await applySet(writer(), [key], { step: 1 });
    const etag = (await read(reader(), key)).headers.etag;
    const startedAt = Date.now();
    const [unchanged, neverThere] = await Promise.all([
      send(read(reader(), key, { prefer: 'wait=1', 'if-none-match': etag })),
      send(read(reader(), freshKey('never'), { prefer: 'wait=1' })),
    ]);
    expect(unchanged.response.status).toBe(304);
    expect(unchanged.response.headers['preference-applied']).toBe('wait=1');
    expect(neverThere.response.status).toBe(404);
    expect(neverThere.response.headers['preference-applied']).toBe('wait=1');
    for (const { at } of [unchanged, neverThere]) {
      expect(at - startedAt).toBeGreaterThanOrEqual(950);
      expect(at - startedAt).toBeLessThan(3000);
    }
  });

  it('answers at once when the client does not hold the current ETag, and caps the wait at READ_WAIT_MAX_SECONDS', async () => {
    const key = freshKey();
    await applySet(writer(), [key], { step: 1 });
    const startedAt = Date.now();
    const response = await read(reader(), key, { prefer: 'wait=9999', 'if-none-match': '"some-older-etag"' });
    expect(response.status).toBe(200);
    expect(response.headers['preference-applied']).toBe('wait=60');
    expect(Date.now() - startedAt).toBeLessThan(500);
  });

  it('wakes a batch-get waiting on ETags when one of its keys changes', async () => {
    const [held, absent] = [freshKey(), freshKey()];
    await applySet(writer(), [held], { step: 1 });
    const before = await request(reader().url)
      .post('/v1/data/batch-get')
      .send({ webhookKeys: [held, absent] });
    expect(before.body.missing).toEqual([absent]);
    expect(before.body.etags[held]).toBe((await read(reader(), held)).headers.etag);
    const pending = send(
      request(reader().url)
        .post('/v1/data/batch-get')
        .send({ webhookKeys: [held, absent], etags: before.body.etags, waitSeconds: 20 }),
    );
    await untilWaiting(reader(), 1);
    const setAt = Date.now();
    await applySet(writer(), [held], { step: 2 });
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(response.body.items[held].data).toEqual({ step: 2 });
    expect(response.body.etags[held]).not.toBe(before.body.etags[held]);
    expect(response.body.missing).toEqual([absent]);
    expect(at - setAt).toBeLessThan(1000);
  });

  it('refuses etags for a key that is not in webhookKeys', async () => {
    const response = await request(reader().url)
      .post('/v1/data/batch-get')
      .send({ webhookKeys: [freshKey()], etags: { [freshKey()]: '"x"' } });
    expect(response.status).toBe(400);
    expect(response.body.details[0].field).toBe('etags');
  });

  it('wakes a waiter through the whole path: POST /v1/records, the queue, a worker', async () => {
    const key = freshKey();
    const pending = send(read(reader(), key, { prefer: 'wait=20' }));
    await untilWaiting(reader(), 1);
    const accepted = await request(writer().url)
      .post('/v1/records')
      .set('x-api-key', ACME.apiKey)
      .send({ accountId: 'acme', flowId: 'waits', webhookKeys: [key], data: 'through the queue' });
    expect(accepted.status).toBe(202);
    const { response } = await pending;
    expect(response.status).toBe(200);
    expect(response.body.data).toBe('through the queue');
  });

  it('frees the waiter of a client that goes away at once', async () => {
    const { port } = new URL(reader().url);
    const gone = http.get({
      port,
      host: '127.0.0.1',
      path: '/v1/data',
      headers: { 'x-webhook-key': freshKey(), prefer: 'wait=30' },
    });
    gone.on('error', () => undefined);
    await untilWaiting(reader(), 1);
    const closedAt = Date.now();
    gone.destroy();
    await untilWaiting(reader(), 0);
    expect(Date.now() - closedAt).toBeLessThan(1000);
  });

  it('still wakes the other waiters of a key after one of them went away, and frees each from the gauge', async () => {
    const key = freshKey('shared');
    await applySet(writer(), [key], { step: 1 });
    const etag = (await read(reader(), key)).headers.etag;
    const { port } = new URL(reader().url);
    const gone = http.get({
      port,
      host: '127.0.0.1',
      path: '/v1/data',
      headers: { 'x-webhook-key': key, prefer: 'wait=30', 'if-none-match': etag },
    });
    gone.on('error', () => undefined);
    await untilWaiting(reader(), 1);
    const staying = [1, 2].map(() => send(read(reader(), key, { prefer: 'wait=30', 'if-none-match': etag })));
    await untilWaiting(reader(), 3);
    gone.destroy();
    await untilWaiting(reader(), 2);
    const setAt = Date.now();
    await applySet(writer(), [key], { step: 2 });
    for (const { response, at } of await Promise.all(staying)) {
      expect(response.status).toBe(200);
      expect(response.body.data).toEqual({ step: 2 });
      expect(at - setAt).toBeLessThan(1000);
    }
    expect(await waiterCount(reader())).toBe(0);
  });

  it("serves a write applied through another instance's Redis client to the next read, cached or not", async () => {
    const keys = Array.from({ length: 20 }, () => freshKey('cache'));
    await applySet(writer(), keys, { step: 1 });
    await applySet(writer(), [keys[0]], { step: 'inline 1' });
    const readAll = () => request(reader().url).post('/v1/data/batch-get').send({ webhookKeys: keys });
    await readAll();
    const cachedBytes = reader().app.get(RecordReader).cacheBytes;
    expect(cachedBytes).toBeGreaterThan(0);
    const metrics = (await request(reader().url).get('/metrics')).text;
    expect(metrics).toContain(`\nsetgetapi_read_cache_bytes ${cachedBytes}\n`);
    // Served from the cache: a second read adds nothing.
    await readAll();
    expect(reader().app.get(RecordReader).cacheBytes).toBe(cachedBytes);

    await applySet(writer(), keys, { step: 2 });
    await applySet(writer(), [keys[0]], { step: 'inline 2' });
    // The invalidations left Redis before the write's answer; allow them the hop to the other process.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await readAll();
    expect(after.body.items[keys[0]].data).toEqual({ step: 'inline 2' });
    for (const key of keys.slice(1)) expect(after.body.items[key].data).toEqual({ step: 2 });
  });

  it('answers a GET from the cache exactly as from Redis: document, ETag, content type, 304', async () => {
    const key = freshKey('hit');
    await applySet(writer(), [key], { step: 'hit' });
    const bytesBefore = reader().app.get(RecordReader).cacheBytes;
    const fromRedis = await read(reader(), key);
    expect(reader().app.get(RecordReader).cacheBytes).toBeGreaterThan(bytesBefore);
    const slowPath = jest.spyOn(reader().app.get(RecordReader), 'read');
    // One of the onRequest hooks Nest's Fastify adapter adds runs this for every request that reaches it.
    const adapterHook = jest.spyOn(
      reader().app.getHttpAdapter() as unknown as { isRoutableRequestTarget: (url: string) => boolean },
      'isRoutableRequestTarget',
    );
    const fromCache = await read(reader(), key);
    // Served by EarlyReadHook, before the controller and before the hooks of Nest's adapter.
    expect(slowPath).not.toHaveBeenCalled();
    expect(adapterHook).not.toHaveBeenCalled();
    // A key without data goes on through them.
    expect((await read(reader(), freshKey('hit-missing'))).status).toBe(404);
    expect(adapterHook).toHaveBeenCalled();
    slowPath.mockRestore();
    adapterHook.mockRestore();
    expect(fromCache.status).toBe(200);
    expect(fromCache.text).toBe(fromRedis.text);
    for (const header of ['etag', 'content-type', 'content-length']) {
      expect(fromCache.headers[header]).toBe(fromRedis.headers[header]);
    }
    const notModified = await read(reader(), key, { 'if-none-match': `"other", ${fromRedis.headers.etag}` });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe(fromRedis.headers.etag);
    expect((await read(reader(), key, { 'if-none-match': '"other"' })).status).toBe(200);
  });

  it('answers a plain read of data not cached before Nest, and leaves a key without data to the controller', async () => {
    const [key, conditionalKey, missing] = [freshKey('early'), freshKey('early-304'), freshKey('early-missing')];
    await applySet(writer(), [key, conditionalKey], { step: 'early' });
    // The ETag, learnt through the other instance: the reader has not read the key yet.
    const { etag } = (await read(writer(), conditionalKey)).headers;
    const controllerReads = jest.spyOn(reader().app.get(QueryService), 'read');
    try {
      const found = await read(reader(), key);
      expect(found.status).toBe(200);
      expect(found.body.data).toEqual({ step: 'early' });
      const notModified = await read(reader(), conditionalKey, { 'if-none-match': etag });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.etag).toBe(etag);
      expect(controllerReads).not.toHaveBeenCalled();
      const notFound = await read(reader(), missing);
      expect(notFound.status).toBe(404);
      expect(notFound.body).toMatchObject({ statusCode: 404 });
      expect(controllerReads).toHaveBeenCalledTimes(1);
    } finally {
      controllerReads.mockRestore();
    }
  });

  it('reads a record and its shared body in one round trip on a single server, and caches both', async () => {
    const [key, other] = [freshKey('shared'), freshKey('shared')];
    await applySet(writer(), [key, other], { step: 'shared' });
    const digest = reader().app.get(WebhookKeyDigester).digest(key);
    const recordKey = reader().app.get(KeyLayout).record(digest);
    const client = reader().app.get<Redis>(getRedisConnectionToken());
    const address = /addr=(\S+)/.exec(String(await client.client('INFO')))?.[1];
    const monitor = await harness().redis.inspect.duplicate().monitor();
    // The reader's commands naming the key's record or a shared body.
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === address && args.some((arg) => arg === recordKey || arg.includes(':d:{'))) {
        commands.push(args[0].toLowerCase());
      }
    });
    try {
      expect((await read(reader(), key)).body.data).toEqual({ step: 'shared' });
      expect((await read(reader(), key)).body.data).toEqual({ step: 'shared' });
      // MONITOR reports each command as Redis runs it; allow the report the hop.
      await new Promise((resolve) => setTimeout(resolve, 100));
      // One script call for record and body (EVAL the first time this client sends it), none for the second
      // read: both were cached.
      expect(commands).toHaveLength(1);
      expect(['eval', 'evalsha']).toContain(commands[0]);
    } finally {
      monitor.disconnect();
    }
  });

  it('digests a webhook key for its first hits only, and still serves a change to the next read', async () => {
    const key = freshKey('memo');
    await applySet(writer(), [key], { step: 1 });
    await read(reader(), key); // from Redis: now cached
    await read(reader(), key); // the first hit: remembers the key's record key
    const digests = jest.spyOn(reader().app.get(WebhookKeyDigester), 'digests');
    try {
      for (let hit = 0; hit < 5; hit++) expect((await read(reader(), key)).body.data).toEqual({ step: 1 });
      expect(digests).not.toHaveBeenCalled();
      await applySet(writer(), [key], { step: 2 });
      // The invalidation crosses from one instance's connection to the other's: allow it the hop.
      await eventually(async () => ((await read(reader(), key)).body.data.step === 2 ? true : undefined), 2000);
    } finally {
      digests.mockRestore();
    }
  });

  it('answers every waiter (304 or 404) when the application closes, and exits', async () => {
    const closing: TestApp = await harness().startApp({ APP_ROLES: 'query' });
    await followingChanges(closing);
    const key = freshKey();
    await applySet(writer(), [key], { step: 1 });
    const etag = (await read(closing, key)).headers.etag;
    const unchanged = send(read(closing, key, { prefer: 'wait=30', 'if-none-match': etag }));
    const absent = send(read(closing, freshKey('absent'), { prefer: 'wait=30' }));
    await untilWaiting(closing, 2);
    const closedAt = Date.now();
    await closing.close();
    const [first, second] = await Promise.all([unchanged, absent]);
    expect(first.response.status).toBe(304);
    expect(second.response.status).toBe(404);
    expect(Math.max(first.at, second.at) - closedAt).toBeLessThan(1000);
  });

  it('on SIGTERM answers every waiter of the process (304, 404) and exits 0', async () => {
    const service = await harness().spawnService({ APP_ROLES: 'query', LOG_LEVEL: 'info' });
    await eventually(
      async () => ((await request(service.url).get('/health/ready')).status === 200 ? true : undefined),
      10_000,
      'ready',
    );
    const key = freshKey('sigterm');
    await applySet(writer(), [key], { step: 1 });
    const etag = (await request(service.url).get('/v1/data').set('x-webhook-key', key)).headers.etag;
    const waiting = (headers: Record<string, string>, webhookKey: string) =>
      send(request(service.url).get('/v1/data').set('x-webhook-key', webhookKey).set(headers));
    const unchanged = waiting({ prefer: 'wait=30', 'if-none-match': etag }, key);
    const absent = waiting({ prefer: 'wait=30' }, freshKey('absent'));
    await eventually(
      async () => {
        const metrics = (await request(service.url).get('/metrics')).text;
        return metrics.includes('\nsetgetapi_query_waiters 2\n') ? true : undefined;
      },
      5_000,
      'two waiters',
    );
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    const [first, second] = await Promise.all([unchanged, absent]);
    expect(first.response.status).toBe(304);
    expect(second.response.status).toBe(404);
    expect(Math.max(first.at, second.at) - signalledAt).toBeLessThan(2000);
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it('flushes the cache and still answers waiters when the invalidation connections are killed', async () => {
    const [cached, waitedOn] = [freshKey('killed'), freshKey('killed')];
    await applySet(writer(), [cached, waitedOn], { step: 1 });
    await applySet(writer(), [cached], { step: 'cached 1' });
    expect((await read(reader(), cached)).body.data).toEqual({ step: 'cached 1' });
    const etag = (await read(reader(), waitedOn)).headers.etag;
    const pending = send(read(reader(), waitedOn, { prefer: 'wait=20', 'if-none-match': etag }));
    await untilWaiting(reader(), 1);

    // Kills every subscribed connection: the tracking sessions of both instances.
    expect(await harness().redis.inspect.client('KILL', 'TYPE', 'pubsub')).toBeGreaterThanOrEqual(2);
    const setAt = Date.now();
    await applySet(writer(), [cached, waitedOn], { step: 2 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await read(reader(), cached)).body.data).toEqual({ step: 2 });
    const { response, at } = await pending;
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ step: 2 });
    expect(at - setAt).toBeLessThan(2000);
    await followingChanges(reader());
  });

  it('flushes the cache when Redis restarts: no stale read afterwards', async () => {
    const key = freshKey('restart');
    await applySet(writer(), [key], { step: 'before restart' });
    expect((await read(reader(), key)).status).toBe(200);
    expect(reader().app.get(RecordReader).cacheBytes).toBeGreaterThan(0);

    // No persistence: the restarted server is empty, so the one right answer for the key is 404.
    await harness().redis.server.restart();
    const answers = new Set<number>();
    await eventually(
      async () => {
        const status = (await read(reader(), key)).status;
        answers.add(status);
        return status === 404 ? true : undefined;
      },
      15_000,
      'the read to find Redis again',
    );
    expect(answers.has(200)).toBe(false);
    await followingChanges(reader());
    expect(await waiterCount(reader())).toBe(0);
  });
});
