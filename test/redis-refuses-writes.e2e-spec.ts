import { randomUUID } from 'node:crypto';
import { eventually } from './support/app';
import {
  inParallel,
  metricValue,
  pausedFor,
  readAll,
  submitRecord,
  useDrill,
  watchPeakMemory,
} from './support/ingest-drill';
import { freePort } from './support/redis-server';
import { queueDepth } from './support/sqs';

/**
 * Redis that stays connected but refuses writes (OOM, READONLY) is a passing failure: the worker stops receiving,
 * holds what it has, and applies everything once Redis takes writes again. The queues allow few receives, so a
 * worker that kept receiving meanwhile would push messages to the DLQ.
 */
describe('drill: Redis at its memory limit (OOM) while ~8 KiB messages flood in', () => {
  const LIMIT = 8 * 1024 * 1024;
  const drill = useDrill({ visibilityTimeoutSeconds: 2, maxReceiveCount: 2 });

  it('pauses showing OOM, dead-letters nothing, stays within the limit, and stores every message once room is made', async () => {
    const {
      redis,
      sqs,
      queues,
      apps: [service],
    } = drill();
    await redis.inspect.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.inspect.config('SET', 'maxmemory', String(LIMIT));
    const run = randomUUID().slice(0, 8);
    const keys = Array.from({ length: 1400 }, (_, index) => `wh-oom-${run}-${index}`);
    const padding = 'x'.repeat(8 * 1024);
    const memory = watchPeakMemory(redis.inspect);

    const statuses: number[] = [];
    await inParallel(keys, 16, async (key, index) => {
      statuses.push(await submitRecord(service, `oom-${index % 8}`, key, { index, padding }));
    });
    expect(statuses.filter((status) => status !== 202)).toEqual([]);

    const check = await pausedFor(service, 'OOM', 30_000);
    expect(check).toMatchObject({ status: 'down', paused: true });
    expect(await metricValue(service, 'setgetapi_ingest_paused{reason="OOM"}')).toBe(1);
    // Several visibility timeouts at the limit: a worker still receiving would use up both receives.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    const peak = await memory.stop();

    await redis.inspect.config('SET', 'maxmemory', '0');
    const stored = await eventually(() => readAll(service, keys), 45_000, `all ${keys.length} messages stored`);
    expect(keys.every((key, index) => JSON.stringify(stored[key]) === JSON.stringify({ index, padding }))).toBe(true);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    expect(await metricValue(service, 'setgetapi_ingest_paused{reason="OOM"}')).toBe(0);
    // No script writes once Redis reports OOM: at most the one write that crossed the limit goes over it.
    expect(peak).toBeLessThanOrEqual(LIMIT + 64 * 1024);
  });
});

describe('drill: Redis turned into a read-only replica (READONLY) under load', () => {
  const drill = useDrill({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });

  it('pauses showing READONLY, dead-letters nothing, and stores every message once it is a master again', async () => {
    const {
      redis,
      sqs,
      queues,
      apps: [service],
    } = drill();
    const run = randomUUID().slice(0, 8);
    const accepted: string[] = [];
    let producing = true;
    const producer = (async () => {
      for (let index = 0; producing; index++) {
        const key = `wh-ro-${run}-${index}`;
        if ((await submitRecord(service, `ro-${index % 4}`, key, { index })) === 202) accepted.push(key);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      await eventually(async () =>
        accepted.length >= 30 && (await readAll(service, accepted.slice(0, 10))) ? true : undefined,
      );
      // A replica of a master nobody runs: it keeps its data (no sync ever succeeds) and refuses every write.
      await redis.inspect.call('REPLICAOF', '127.0.0.1', String(await freePort()));
      await pausedFor(service, 'READONLY');
      const acceptedAtPause = accepted.length;
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(accepted.length).toBeGreaterThan(acceptedAtPause + 50);
      await redis.inspect.call('REPLICAOF', 'NO', 'ONE');
      const acceptedAtRecovery = accepted.length;
      await eventually(async () => (accepted.length >= acceptedAtRecovery + 30 ? true : undefined));
    } finally {
      producing = false;
      await producer;
    }
    const stored = await eventually(() => readAll(service, accepted), 30_000, `all ${accepted.length} messages stored`);
    expect(accepted.map((key) => (stored[key] as { index: number }).index)).toEqual(
      accepted.map((key) => Number(key.split('-').pop())),
    );
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
  });
});
