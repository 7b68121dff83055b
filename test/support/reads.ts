import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { RecordReader } from '../../src/store/record-reader';
import { RecordStore } from '../../src/store/record-store';
import { eventually, TestApp } from './app';

/** A webhook key no other test uses. */
export function freshKey(label = 'wait'): string {
  return `wh-${label}-${randomUUID()}`;
}

/** Applies a set as a worker does (RecordStore.write), on `app`'s Redis client; answers when Redis has it. */
export async function applySet(app: TestApp, webhookKeys: string[], data: unknown): Promise<void> {
  await app.app
    .get(RecordStore)
    .write(
      { op: 'set', accountId: 'acme', flowId: 'waits', webhookKeys, dataJson: JSON.stringify(data) },
      { datumId: randomUUID(), ttlSeconds: 3600, now: Date.now() },
    );
}

export async function applyDelete(app: TestApp, webhookKeys: string[]): Promise<void> {
  await app.app
    .get(RecordStore)
    .write(
      { op: 'delete', accountId: 'acme', flowId: 'waits', webhookKeys },
      { datumId: randomUUID(), ttlSeconds: 3600, now: Date.now() },
    );
}

/** Waits until `app` hears invalidations from every master (its cache and its waiters work from then on). */
export async function followingChanges(app: TestApp): Promise<void> {
  const reader = app.app.get(RecordReader);
  await eventually(async () => (reader.followingChanges ? true : undefined), 30_000, 'the invalidation channel');
}

export function read(app: TestApp, webhookKey: string, headers: Record<string, string> = {}): request.Test {
  return request(app.url).get('/v1/data').set('x-webhook-key', webhookKey).set(headers);
}

/** setgetapi_query_waiters as GET /metrics shows it. */
export async function waiterCount(app: TestApp): Promise<number> {
  const metrics = (await request(app.url).get('/metrics')).text;
  const line = metrics.split('\n').find((candidate) => candidate.startsWith('setgetapi_query_waiters '));
  if (line === undefined) throw new Error('no setgetapi_query_waiters in /metrics');
  return Number(line.split(' ')[1]);
}

/** Resolves once `app` holds `count` waiters. */
export async function untilWaiting(app: TestApp, count: number): Promise<void> {
  await eventually(async () => ((await waiterCount(app)) === count ? true : undefined), 5_000, `${count} waiter(s)`);
}

/** Sends `test` now; the promise resolves with its answer and when it arrived (Date.now()). */
export function send(test: request.Test): Promise<{ response: request.Response; at: number }> {
  return test.then((response) => ({ response, at: Date.now() }));
}
