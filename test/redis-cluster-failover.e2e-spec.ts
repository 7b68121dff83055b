import mongoose from 'mongoose';
import request from 'supertest';
import { randomUUID } from 'node:crypto';
import { ArchivedRecord } from '../src/archive/archive.schemas';
import { RecordStore } from '../src/store/record-store';
import { RedisStatus } from '../src/store/redis-status';
import { ACME, ADMIN_KEY, eventually, TestApp } from './support/app';
import { useHarness } from './support/harness';
import { clusterRedis } from './support/redis-target';
import { queueDepth } from './support/sqs';

const KEYS = 24;
const ROUNDS = 14;
const ROUND_GAP_MS = 400;
/** The round after which a master is killed: half the load goes in before, half during and after the failover. */
const KILL_AFTER_ROUND = 5;
/** Datums stored before the load, for the archive runs' snapshots to copy. */
const PRELOADED = 3000;

interface RunRecord {
  runId: string;
  status: 'running' | 'succeeded' | 'failed';
  startedAt: string;
  finishedAt: string | null;
}

/**
 * A master of a three-master cluster (one replica each) is killed with SIGKILL under a steady write load through
 * the real worker, with the archive on and its runs going on back to back. Its replica takes over (cluster-node-
 * timeout 1 s). Acknowledged writes must survive the kill, so the service runs with REDIS_WAIT_REPLICAS=1: a
 * message leaves SQS only once a replica has its writes. The killed node is then relaunched and rejoins as the
 * replica of the node that replaced it (until then no master of those slots has a replica to WAIT on).
 */
describe('Redis Cluster failover: a master killed under load, its replica takes over', () => {
  const harness = useHarness({
    redis: clusterRedis({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 }),
    // Few receives allowed: a worker that kept receiving (or failed messages) through the failover would push
    // messages to the DLQ.
    queues: { visibilityTimeoutSeconds: 2, maxReceiveCount: 3 },
    mongo: true,
    env: { SQS_VISIBILITY_TIMEOUT: '2', REDIS_WAIT_REPLICAS: '1', ARCHIVE_CRON: '0 0 1 1 *' },
    apps: 1,
  });

  it('pauses the worker, answers reads with 503 or the right data, and loses nothing; the archive copies it all', async () => {
    const { redis, sqs, queues, mongo } = harness();
    const service = harness().apps[0];
    const webhookKeys = Array.from({ length: KEYS }, (_, n) => `failover-${n}-${Date.now()}`);
    /** Per key, the round last sent (from the moment it is sent), and the message id of each round. */
    const sentRound = new Array<number>(KEYS).fill(-1);
    const messageIds: string[][] = webhookKeys.map(() => []);
    /** Per key, the highest round a read has returned: a later read must never return an older one. */
    const seenRound = new Array<number>(KEYS).fill(-1);
    const readProblems: string[] = [];
    const readStatuses = new Map<number, number>();

    // Reads all along: 200 with a round that was sent and not older than one seen before, 404 before the first
    // write is applied, or 503. Anything else (an older value, another key's) is wrong data.
    let loadDone = false;
    const reader = (async () => {
      while (!loadDone) {
        const n = Math.floor(Math.random() * KEYS);
        const response = await request(service.url).get('/v1/data').set('x-webhook-key', webhookKeys[n]);
        readStatuses.set(response.status, (readStatuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) {
          const { key, round } = response.body.data as { key: number; round: number };
          if (key !== n || round > sentRound[n] || round < seenRound[n]) {
            readProblems.push(`key ${n}: read ${JSON.stringify(response.body.data)}, sent up to ${sentRound[n]}`);
          }
          seenRound[n] = Math.max(seenRound[n], round);
        } else if (![404, 503].includes(response.status)) {
          readProblems.push(`key ${n}: status ${response.status} ${JSON.stringify(response.body)}`);
        }
      }
    })();

    // Archive runs back to back, so that one is in progress when the master dies.
    // Archive runs back to back, so that one is in progress when the master dies. Datums already stored give each
    // run a snapshot of a second or so to copy.
    // The service's own stores fail at once while its cluster client is still connecting.
    expect(await service.app.get(RedisStatus).waitUntilReady(30_000)).toBe(true);
    const store = service.app.get(RecordStore);
    for (let start = 0; start < PRELOADED; start += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, n) =>
          store.write(
            {
              op: 'set',
              accountId: ACME.accountId,
              flowId: 'preloaded',
              webhookKeys: [`preloaded-${start + n}-${randomUUID()}`],
              dataJson: JSON.stringify({ n: start + n }),
            },
            { datumId: `preloaded-${start + n}-${randomUUID()}`, ttlSeconds: 600, now: Date.now() },
          ),
        ),
      );
    }
    const runs: RunRecord[] = [];
    /** The run the loop below waits on; it may already have ended without the loop having seen it yet. */
    let currentRunId: string | undefined;
    const archiving = (async () => {
      while (!loadDone) {
        const started = await request(service.url).post('/admin/archive/runs').set('x-api-key', ADMIN_KEY);
        if (started.status !== 202) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        currentRunId = started.body.runId as string;
        runs.push(await untilRunEnds(service, currentRunId));
        currentRunId = undefined;
      }
    })();

    // What an operator sees in /health/ready all along: the reasons the worker showed for its pause.
    const pauseReasons = new Set<string>();
    const pauseStarts = new Set<string>();
    const redisChecks = new Set<string>();
    const monitor = setInterval(() => {
      void request(service.url)
        .get('/health/ready')
        .then(
          (response) => {
            const { reason, since } = response.body.checks?.ingest ?? {};
            const redisCheck = response.body.checks?.redis;
            if (redisCheck)
              redisChecks.add(
                `${redisCheck.status}${redisCheck.mastersOk === undefined ? '' : ` ${redisCheck.mastersOk} of ${redisCheck.mastersKnown}`}`,
              );
            if (typeof reason === 'string') pauseReasons.add(reason);
            if (typeof since === 'string') pauseStarts.add(since);
          },
          () => undefined,
        );
    }, 250);
    harness().defer(async () => {
      loadDone = true;
      clearInterval(monitor);
      await Promise.all([reader, archiving]);
    });

    /** The kill's window: from the last look at the archive run before the SIGKILL until the process is gone. */
    let killStartedAt = 0;
    let killedAt = 0;
    let killedAddress = '';
    for (let round = 0; round < ROUNDS; round++) {
      sentRound.fill(round);
      const responses = await Promise.all(
        webhookKeys.map((webhookKey, n) =>
          request(service.url)
            .post('/v1/records')
            .set('x-api-key', ACME.apiKey)
            .send({
              accountId: ACME.accountId,
              flowId: `failover-${n % 6}`,
              webhookKeys: [webhookKey],
              version: round + 1,
              data: { key: n, round },
            }),
        ),
      );
      for (const [n, response] of responses.entries()) {
        expect(response.status).toBe(202);
        messageIds[n].push(response.body.messageId as string);
      }
      if (round === KILL_AFTER_ROUND) {
        const victim = (await redis.cluster.topology()).find((node) => node.role === 'master' && node.slots.length > 0);
        killedAddress = victim?.address ?? '';
        // Asked of the service just before the kill: the loop's own view lags by its polling interval, and a run
        // that ended in between would leave no run in progress at the kill. The kill's window starts before the
        // question, so the run that answered 'running' was running within it.
        killStartedAt = await eventually(
          async () => {
            if (!currentRunId) return undefined;
            const askedAt = Date.now();
            const run = await request(service.url)
              .get(`/admin/archive/runs/${currentRunId}`)
              .set('x-api-key', ADMIN_KEY);
            return run.body.status === 'running' ? askedAt : undefined;
          },
          10_000,
          'an archive run to be going',
        );
        await redis.cluster.server(killedAddress).stop();
        killedAt = Date.now();
      }
      await new Promise((resolve) => setTimeout(resolve, ROUND_GAP_MS));
    }

    // The worker saw the master go and paused (it did not spend receives failing messages). Seen by the readiness
    // monitor: on a loaded machine the pause can be over before the last round is sent, so not asked at this instant.
    await eventually(async () => (pauseStarts.size > 0 ? true : undefined), 15_000, 'the worker to pause');

    // The replica took over; the killed node comes back as its replica, and writes are acknowledged again.
    await eventually(
      async () => {
        const topology = await redis.cluster.topology();
        const masters = topology.filter((node) => node.role === 'master' && !node.failed && node.slots.length > 0);
        return masters.length === 3 && !masters.some((node) => node.address === killedAddress) ? true : undefined;
      },
      20_000,
      'a replica to take over the killed master',
    );
    await redis.cluster.server(killedAddress).launch();
    await redis.cluster.untilHealthy();

    const last = await eventually(
      async () => {
        const found = await readAll(service, webhookKeys);
        return found?.every((data) => data.round === ROUNDS - 1) ? found : undefined;
      },
      40_000,
      'every key to hold its last value',
    ).catch(async (error: Error) => {
      const found = await readAll(service, webhookKeys);
      const ready = (await request(service.url).get('/health/ready')).body;
      throw new Error(
        `${error.message}; rounds held: ${JSON.stringify(found?.map((data) => data.round))}, ` +
          `queue ${await queueDepth(sqs, queues.queueUrl)}, DLQ ${await queueDepth(sqs, queues.dlqUrl)}, ` +
          `ready ${JSON.stringify(ready)}`,
      );
    });
    loadDone = true;
    clearInterval(monitor);
    await Promise.all([reader, archiving]);
    // Paused for the failover's passing failures only (the connection lost, the slots without a master, the new
    // master without a replica to WAIT on), never for anything that would send messages back to SQS.
    expect(pauseReasons.size).toBeGreaterThan(0);
    // One pause from the kill until every master takes writes again, with a replica: a worker that resumed as soon
    // as some master took a write would fail the next messages and pause again, each time spending their receives.
    expect([...pauseStarts]).toHaveLength(1);
    // The redis check showed the cluster in trouble while it was: `degraded` while a master does not answer, `down`
    // while the cluster as a whole fails; which of the two the 250 ms samples catch depends on the machine's load.
    expect([...redisChecks]).toContainEqual(expect.stringMatching(/^(degraded|down)/));
    expect((await request(service.url).get('/health/ready')).body.checks?.redis).toEqual({ status: 'up' });
    for (const reason of pauseReasons)
      expect(['unreachable', 'timeout', 'CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'NOREPLICAS']).toContain(reason);
    expect(last.map((data) => data.key)).toEqual(webhookKeys.map((_, n) => n));
    expect(readProblems).toEqual([]);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    expect((await request(service.url).get('/health/ready')).body.checks?.ingest?.status).toBe('up');

    // A run was in progress when the master died; whatever became of it, a run afterwards archives everything.
    const overlapping = runs.filter(
      (run) => Date.parse(run.startedAt) <= killedAt && Date.parse(run.finishedAt ?? '') >= killStartedAt,
    );
    expect({ killStartedAt, killedAt, overlapping: overlapping.length, runs }).toMatchObject({ overlapping: 1 });
    // A run that failed with the master may not have released its lock (Redis was failing then): it expires 30 s
    // after its last renewal.
    const started = await eventually(
      async () => {
        const response = await request(service.url).post('/admin/archive/runs').set('x-api-key', ADMIN_KEY);
        return response.status === 202 ? response : undefined;
      },
      40_000,
      'an archive run to start',
    );
    expect((await untilRunEnds(service, started.body.runId as string)).status).toBe('succeeded');
    const archive = await mongoose.createConnection(mongo.uri).asPromise();
    try {
      const archived = await archive
        .collection<ArchivedRecord>('archived_records')
        .find({ _id: { $in: messageIds.flat() } })
        .toArray();
      const byId = new Map(archived.map((record) => [record._id, record]));
      const endingsMissing: string[] = [];
      for (const [n, ids] of messageIds.entries()) {
        const newest = byId.get(ids[ids.length - 1]);
        expect(JSON.parse(newest?.body ?? '{}').data).toEqual({ key: n, round: ROUNDS - 1 });
        expect(newest?.replacedAt ?? null).toBeNull();
        // Every older write of the key was archived with its ending, also when the journal append of the write after
        // it failed in the failover after its keys were written: the retry finds them written and names again, from
        // the records, the datum each replaced.
        for (const older of ids.slice(0, -1)) {
          expect(byId.has(older)).toBe(true);
          if (!(byId.get(older)?.replacedAt instanceof Date)) endingsMissing.push(older);
        }
      }
      expect(endingsMissing).toEqual([]);
    } finally {
      await archive.close();
    }
    console.log(
      `failover: reads ${JSON.stringify(Object.fromEntries(readStatuses))}; redis check ${[...redisChecks].join(', ')}; ` +
        `${runs.length} archive runs during the load (${runs.filter((run) => run.status === 'failed').length} failed)`,
    );
  });
});

async function untilRunEnds(service: TestApp, runId: string): Promise<RunRecord> {
  return eventually(
    async () => {
      const response = await request(service.url).get(`/admin/archive/runs/${runId}`).set('x-api-key', ADMIN_KEY);
      return response.status === 200 && response.body.status !== 'running' ? (response.body as RunRecord) : undefined;
    },
    60_000,
    `archive run ${runId} to end`,
  );
}

/** The data of every key through batch-get; undefined while any is missing or Redis answers 503. */
async function readAll(
  service: TestApp,
  webhookKeys: string[],
): Promise<Array<{ key: number; round: number }> | undefined> {
  const response = await request(service.url).post('/v1/data/batch-get').send({ webhookKeys });
  if (response.status !== 200 || response.body.missing.length > 0) return undefined;
  return webhookKeys.map((key) => response.body.items[key].data as { key: number; round: number });
}
