import { SQSClient } from '@aws-sdk/client-sqs';
import { eventually, startTestApp, TestApp, testEnv } from './app';
import { MongoTarget, startMongoTarget } from './mongo-target';
import { RedisTarget, StandaloneRedis, standaloneRedis } from './redis-target';
import { ServiceProcess, spawnService, stopService } from './service-process';
import { createQueuePair, QueueOptions, QueuePair, testSqsClient } from './sqs';

export interface HarnessOptions<Target extends RedisTarget> {
  /** Starts the Redis the service runs against: a private redis-server (standaloneRedis) unless given. */
  redis?: () => Promise<Target>;
  /** The batching FIFO test SQS instead of fauxqs, for suites that judge order (see SqsChoice). */
  batchingFifo?: boolean;
  /** Attributes of the suite's queue pair. */
  queues?: QueueOptions;
  /** Starts a MongoDB target and points every service at it (MONGODB_URI). */
  mongo?: boolean;
  /** Variables every service of the suite runs with, over testEnv's. */
  env?: Record<string, string>;
  /** In-process apps with every role, started before the tests. */
  apps?: number;
  /** Further in-process apps with only the worker role, on the same queue. */
  workers?: number;
  /** dist/main.js processes, one per APP_ROLES value, started together and ready before the tests. */
  services?: string[];
}

/** What one suite runs against. Everything started through it is stopped in afterAll. */
export interface Harness<Target extends RedisTarget> {
  redis: Target;
  sqs: SQSClient;
  queues: QueuePair;
  /** Only with `mongo: true`. */
  readonly mongo: MongoTarget;
  /** The apps of `apps`, then those of `workers`. */
  apps: TestApp[];
  /** The processes of `services`, in their order. */
  services: ServiceProcess[];
  /** The environment of a service of this suite; `queues` defaults to the suite's pair. */
  env: (overrides?: Record<string, string>, queues?: QueuePair) => Record<string, string>;
  /** Starts another in-process app, closed in afterAll. */
  startApp: (overrides?: Record<string, string>, queues?: QueuePair) => Promise<TestApp>;
  /** Spawns another dist/main.js process (not waiting for readiness), killed in afterAll if still running. */
  spawnService: (overrides?: Record<string, string>, queues?: QueuePair) => Promise<ServiceProcess>;
  /** Runs `cleanup` in afterAll, before what was started until now is stopped (apps and services: see useHarness). */
  defer: (cleanup: () => unknown) => void;
}

/**
 * Sets up a suite's Redis, SQS client, queue pair, optional MongoDB and services in the calling describe block
 * (beforeAll/afterAll). Returns a getter: the harness exists once beforeAll has run. Teardown stops what was
 * started in reverse order, each step even if another failed, including when beforeAll failed half way. The apps
 * and services are one step, where the first of them started, and close in the order they started: an admin app
 * closed before a scheduler app started ahead of it makes the latter's MongoDB client throw.
 */
export function useHarness(options?: HarnessOptions<StandaloneRedis>): () => Harness<StandaloneRedis>;
export function useHarness<Target extends RedisTarget>(
  options: HarnessOptions<Target> & { redis: () => Promise<Target> },
): () => Harness<Target>;
export function useHarness(options: HarnessOptions<RedisTarget> = {}): () => Harness<RedisTarget> {
  const cleanups: Array<() => unknown> = [];
  const closeServices: Array<() => Promise<void>> = [];
  let harness: Harness<RedisTarget> | undefined;

  beforeAll(async () => {
    const redis = await (options.redis ?? standaloneRedis)();
    cleanups.push(() => redis.stop());
    const sqs = testSqsClient({ batchingFifo: options.batchingFifo });
    cleanups.push(() => sqs.destroy());
    const queues = await createQueuePair(sqs, options.queues);
    let mongo: MongoTarget | undefined;
    if (options.mongo) {
      const started = await startMongoTarget();
      cleanups.push(() => started.stop());
      mongo = started;
    }

    // REDIS_URL empty: redis.env says where Redis is (REDIS_URL, or REDIS_CLUSTER_NODES for a cluster).
    const env = (overrides: Record<string, string> = {}, pair = queues) =>
      testEnv('', pair, { ...redis.env, ...(mongo ? { MONGODB_URI: mongo.uri } : {}), ...options.env, ...overrides });
    const stopWhenDone = (close: () => Promise<void>) => {
      if (closeServices.length === 0) cleanups.push(() => closeInOrder(closeServices));
      closeServices.push(close);
    };
    const startApp = async (overrides?: Record<string, string>, pair?: QueuePair) => {
      const app = await startTestApp(env(overrides, pair));
      stopWhenDone(() => app.close());
      return app;
    };
    const startService = async (overrides?: Record<string, string>, pair?: QueuePair) => {
      const service = await spawnService(env(overrides, pair));
      stopWhenDone(() => stopService(service));
      return service;
    };

    const apps: TestApp[] = [];
    for (let n = 0; n < (options.apps ?? 0); n++) apps.push(await startApp());
    for (let n = 0; n < (options.workers ?? 0); n++) apps.push(await startApp({ APP_ROLES: 'worker' }));
    const services = await startReadyServices(options.services ?? [], (roles) => startService({ APP_ROLES: roles }));

    harness = {
      redis,
      sqs,
      queues,
      get mongo() {
        if (!mongo) throw new Error('no MongoDB in this suite: pass useHarness({ mongo: true })');
        return mongo;
      },
      apps,
      services,
      env,
      startApp,
      spawnService: startService,
      defer: (cleanup) => cleanups.push(cleanup),
    };
  });

  afterAll(async () => {
    cleanups.reverse();
    await closeInOrder(cleanups);
  });

  return () => {
    if (harness === undefined)
      throw new Error('the harness is not set up yet (use it inside a test or a later beforeAll)');
    return harness;
  };
}

/** Runs every cleanup in turn, the later ones even if an earlier one failed; then throws what failed. */
async function closeInOrder(cleanups: Array<() => unknown>): Promise<void> {
  const failures: unknown[] = [];
  for (const cleanup of cleanups.splice(0)) {
    try {
      await cleanup();
    } catch (error) {
      failures.push(error);
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, 'the suite did not tear down cleanly');
}

/**
 * Starts every service at once, each stopped in afterAll even if another failed to start, and waits until each
 * reports ready.
 */
async function startReadyServices(
  roles: string[],
  start: (roles: string) => Promise<ServiceProcess>,
): Promise<ServiceProcess[]> {
  const started = await Promise.allSettled(roles.map(start));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
  const services = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  for (const service of services) {
    const ready = async () => ((await fetch(`${service.url}/health/ready`)).status === 200 ? true : undefined);
    await eventually(ready, 20_000, `${service.url} to be ready`);
  }
  return services;
}
