import fc from 'fast-check';
import { RedisClient } from '../../src/store/redis-client';

/** Thrown by a scheduled client whose simulated worker died: no further call of it reaches Redis. */
export class WorkerDied extends Error {}

/** Whether `error` is a simulated death (the store reports any failed Redis call as Redis unavailable, with a cause). */
export function diedOf(error: unknown): boolean {
  return error instanceof Error && (error instanceof WorkerDied || error.cause instanceof WorkerDied);
}

/**
 * A Redis client for model tests: each call of a method named in `steps` waits for fast-check's scheduler (so runs
 * interleave simulated workers command by command), and after `diesAfter` such calls the worker dies: every later
 * call throws WorkerDied. Calls already sent are tracked in `inFlight`, so a run can wait for quiescence.
 */
export function scheduledClient(
  client: RedisClient,
  steps: ReadonlySet<string>,
  scheduler: fc.Scheduler,
  diesAfter: number | null,
  inFlight: Set<Promise<unknown>>,
): RedisClient {
  let taken = 0;
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (!steps.has(String(property))) return value.bind(target);
      return async (...args: unknown[]) => {
        await scheduler.schedule(Promise.resolve(String(property)));
        if (diesAfter !== null && taken++ >= diesAfter) throw new WorkerDied();
        const call = (value as (...callArgs: unknown[]) => Promise<unknown>).apply(target, args);
        inFlight.add(call);
        return call.finally(() => inFlight.delete(call));
      };
    },
  });
}
