import { KeyLayout } from '../src/store/key-layout';
import { attachedDigests } from '../src/store/record-store';
import { ReferenceReconciler } from '../src/store/reference-reconciler';
import { eventually } from './support/app';
import { GroupMessages, readStoredDocuments, sendInGroupOrder } from './support/bulk-records';
import { useHarness } from './support/harness';
import { readCounter, ServiceProcess } from './support/service-process';
import { queueDepth, receiveStats } from './support/sqs';

const ACCOUNT = 'acme';
const FLOWS = 100;
const MESSAGES_PER_FLOW = 50;
const MESSAGES = FLOWS * MESSAGES_PER_FLOW;
/**
 * Short, so the messages the killed worker held come back within the test; still far longer than a batch takes,
 * so the surviving worker never sees a redelivery of its own.
 */
const VISIBILITY_TIMEOUT_SECONDS = '5';
/** The README's key layout under the default REDIS_KEY_PREFIX: shared bodies and their references. */
const DATUM_PATTERN = 'sg:d:*';
const DATUM_REFERENCES_PATTERN = 'sg:r:*';

const flowId = (flow: number) => `flow-${String(flow).padStart(3, '0')}`;
const groupKey = (flow: number) => `wh-group-${flowId(flow)}`;
/** Each message also writes two keys of its own, so every message's datum stays readable at the end. */
const messageKeys = (flow: number, seq: number) =>
  ['a', 'b'].map((copy) => `wh-message-${flowId(flow)}-${String(seq).padStart(3, '0')}-${copy}`);

function flowMessages(flow: number): GroupMessages {
  const bodies = Array.from({ length: MESSAGES_PER_FLOW }, (_, seq) =>
    JSON.stringify({
      accountId: ACCOUNT,
      flowId: flowId(flow),
      webhookKeys: [groupKey(flow), ...messageKeys(flow, seq)],
      data: { flowId: flowId(flow), seq },
      version: seq,
    }),
  );
  return { groupId: `${ACCOUNT}:${flowId(flow)}`, bodies };
}

describe('a worker killed with SIGKILL while thousands of messages are in flight', () => {
  const harness = useHarness({
    // The SQS that hands out up to ten messages of a FIFO group per receive, as SQS does: ordering is judged.
    batchingFifo: true,
    queues: { visibilityTimeoutSeconds: Number(VISIBILITY_TIMEOUT_SECONDS) },
    env: { LOG_LEVEL: 'info' },
    services: ['query'],
  });
  const startWorker = () =>
    harness().spawnService({ APP_ROLES: 'worker', SQS_VISIBILITY_TIMEOUT: VISIBILITY_TIMEOUT_SECONDS });

  async function scanKeys(pattern: string): Promise<Set<string>> {
    const { inspect } = harness().redis;
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, found] = await inspect.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) keys.add(key);
    } while (cursor !== '0');
    return keys;
  }

  const messages = (worker: ServiceProcess, outcome: string) =>
    readCounter(worker.url, 'setgetapi_ingest_messages_total', { outcome });

  /**
   * Freezes the worker (SIGSTOP), once a fifth of the messages are stored, at a moment when it holds messages it
   * has already begun to write: their datum is in Redis, but they are still on the queue, so SQS will hand them
   * out again. Any other moment (between batches) is let go (SIGCONT) and tried again a batch later. Returns how
   * many messages were on the queue then.
   */
  async function freezeHoldingWrittenMessages(worker: ServiceProcess): Promise<number> {
    const { sqs, queues } = harness();
    let threshold = MESSAGES / 5;
    for (;;) {
      const storedSoFar = await eventually(
        async () => {
          const count = await messages(worker, 'stored');
          return count >= threshold ? count : undefined;
        },
        60_000,
        `the worker to store ${threshold} messages`,
      );
      if (storedSoFar > (MESSAGES * 4) / 5) {
        throw new Error(`the worker stored ${storedSoFar} messages without being caught half way`);
      }
      worker.child.kill('SIGSTOP');
      let caught = false;
      try {
        const [written, onQueue] = await Promise.all([scanKeys(DATUM_PATTERN), queueDepth(sqs, queues.queueUrl)]);
        caught = written.size + onQueue > MESSAGES;
        if (caught) return onQueue;
      } finally {
        if (!caught) worker.child.kill('SIGCONT');
      }
      threshold = storedSoFar + 10;
    }
  }

  it('loses nothing and applies nothing twice in effect once a new worker takes over', async () => {
    const {
      redis: { inspect },
      sqs,
      queues,
      services: [query],
    } = harness();
    await sendInGroupOrder(
      sqs,
      queues.queueUrl,
      Array.from({ length: FLOWS }, (_, flow) => flowMessages(flow)),
    );
    const first = await startWorker();
    const leftOnQueue = await freezeHoldingWrittenMessages(first);
    first.child.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(leftOnQueue).toBeGreaterThan(0);

    const second = await startWorker();
    const drained = async () => ((await queueDepth(sqs, queues.queueUrl)) === 0 ? true : undefined);
    await eventually(drained, 60_000, 'the queue to drain');

    // The new worker applied what was left, the killed worker's messages included, each once and in order.
    expect(await messages(second, 'stored')).toBe(leftOnQueue);
    expect(await messages(second, 'stale')).toBe(0);
    expect(await messages(second, 'retried')).toBe(0);
    expect(await messages(second, 'rejected')).toBe(0);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    // The whole backlog was queued before the first worker started: each receive took ten messages of a group.
    expect((await receiveStats(queues.queueUrl)).largestGroupBatch).toBe(10);

    const keys = Array.from({ length: FLOWS }, (_, flow) => [
      groupKey(flow),
      ...Array.from({ length: MESSAGES_PER_FLOW }, (__, seq) => messageKeys(flow, seq)).flat(),
    ]).flat();
    const documents = await readStoredDocuments(query.url, keys);
    expect(documents.size).toBe(keys.length);
    const mismatches: string[] = [];
    const expectMessage = (key: string, flow: number, seq: number) => {
      const document = documents.get(key);
      const expected = { flowId: flowId(flow), data: { flowId: flowId(flow), seq }, version: seq };
      const found = document && { flowId: document.flowId, data: document.data, version: document.version };
      if (JSON.stringify(found) !== JSON.stringify(expected)) mismatches.push(`${key}: ${JSON.stringify(found)}`);
    };
    for (let flow = 0; flow < FLOWS; flow++) {
      expectMessage(groupKey(flow), flow, MESSAGES_PER_FLOW - 1);
      for (let seq = 0; seq < MESSAGES_PER_FLOW; seq++) {
        for (const key of messageKeys(flow, seq)) expectMessage(key, flow, seq);
      }
    }
    expect(mismatches).toEqual([]);

    // Replays left no body behind and, once the reconciler has removed what the killed worker's unfinished attempts
    // attached (a grace of 0: nothing is in progress now), no attachment too many or too few: every message's body
    // is held by its own two keys, and the last body of each flow by its group key too.
    const repaired = await new ReferenceReconciler(inspect, new KeyLayout('sg:')).reconcile(0);
    expect(repaired.danglingRecords).toBe(0);
    expect((await scanKeys(DATUM_PATTERN)).size).toBe(MESSAGES);
    const references = [...(await scanKeys(DATUM_REFERENCES_PATTERN))];
    const pipeline = inspect.pipeline();
    for (const key of references) pipeline.hkeys(key);
    const counts = ((await pipeline.exec()) ?? []).map(([error, fields]) =>
      error ? -1 : attachedDigests(fields as string[]).length,
    );
    const histogram: Record<number, number> = {};
    for (const count of counts) histogram[count] = (histogram[count] ?? 0) + 1;
    expect(histogram).toEqual({ 2: MESSAGES - FLOWS, 3: FLOWS });
  });
});
