import { eventually } from './support/app';
import { GroupMessages, readStoredDocuments, sendInGroupOrder, StoredDocument } from './support/bulk-records';
import { useHarness } from './support/harness';
import { readCounter, ServiceProcess } from './support/service-process';
import { queueDepth, receiveStats } from './support/sqs';

const ACCOUNT = 'acme';
/**
 * Flows each writing their own keys: every message a group key (last one wins), every even one a key of its own
 * too. A message with two keys stores its shared body before its keys, one with a single key does not: had a
 * worker applied a batch's messages of one group at once rather than in order, an even message would reach the
 * group key after the next one and be counted stale there.
 */
const FLOWS = 50;
const MESSAGES_PER_FLOW = 60;
const hasOwnKey = (seq: number) => seq % 2 === 0;
const OWN_KEY_SEQS = Array.from({ length: MESSAGES_PER_FLOW }, (_, seq) => seq).filter(hasOwnKey);
/** Flows that take turns on the same shared keys, each only once the previous one's last message is stored. */
const RELAY_FLOWS = 4;
const MESSAGES_PER_RELAY = 25;
const SHARED_KEYS = ['wh-shared-0', 'wh-shared-1', 'wh-shared-2'];
const MESSAGES = FLOWS * MESSAGES_PER_FLOW + RELAY_FLOWS * MESSAGES_PER_RELAY;
const KEY_WRITES =
  FLOWS * (MESSAGES_PER_FLOW + OWN_KEY_SEQS.length) + RELAY_FLOWS * MESSAGES_PER_RELAY * (SHARED_KEYS.length + 1);
/**
 * Far longer than any batch takes here, so no message is redelivered: then "stored" counted once per message
 * sent is exact, and any message applied twice shows.
 */
const VISIBILITY_TIMEOUT_SECONDS = '30';

const flowId = (flow: number) => `flow-${String(flow).padStart(2, '0')}`;
const relayFlowId = (relay: number) => `relay-${relay}`;
const groupKey = (flow: number) => `wh-group-${flowId(flow)}`;
const messageKey = (flow: number, seq: number) => `wh-message-${flowId(flow)}-${String(seq).padStart(3, '0')}`;
const relayMessageKey = (relay: number, seq: number) =>
  `wh-message-${relayFlowId(relay)}-${String(seq).padStart(3, '0')}`;
/** Relay versions keep rising from one relay flow to the next, so each one's first write supersedes the last. */
const relayVersion = (relay: number, seq: number) => relay * MESSAGES_PER_RELAY + seq;

function flowMessages(flow: number): GroupMessages {
  const bodies = Array.from({ length: MESSAGES_PER_FLOW }, (_, seq) =>
    JSON.stringify({
      accountId: ACCOUNT,
      flowId: flowId(flow),
      webhookKeys: hasOwnKey(seq) ? [groupKey(flow), messageKey(flow, seq)] : [groupKey(flow)],
      data: { flowId: flowId(flow), seq },
      version: seq,
    }),
  );
  return { groupId: `${ACCOUNT}:${flowId(flow)}`, bodies };
}

function relayMessages(relay: number): GroupMessages {
  const bodies = Array.from({ length: MESSAGES_PER_RELAY }, (_, seq) =>
    JSON.stringify({
      accountId: ACCOUNT,
      flowId: relayFlowId(relay),
      webhookKeys: [...SHARED_KEYS, relayMessageKey(relay, seq)],
      data: { flowId: relayFlowId(relay), seq },
      version: relayVersion(relay, seq),
    }),
  );
  return { groupId: `${ACCOUNT}:${relayFlowId(relay)}`, bodies };
}

describe('two worker processes on one FIFO queue', () => {
  const harness = useHarness({
    // The SQS that hands out up to ten messages of a FIFO group per receive, as SQS does: ordering is judged.
    batchingFifo: true,
    queues: { visibilityTimeoutSeconds: Number(VISIBILITY_TIMEOUT_SECONDS) },
    env: { LOG_LEVEL: 'info', SQS_VISIBILITY_TIMEOUT: VISIBILITY_TIMEOUT_SECONDS },
    services: ['worker', 'worker', 'query'],
  });
  const workers = () => harness().services.slice(0, 2);
  const query = () => harness().services[2];

  /** Sends each relay flow's messages once the previous relay flow's last message is what the shared keys hold. */
  async function relayThroughSharedKeys(): Promise<void> {
    const { sqs, queues } = harness();
    for (let relay = 0; relay < RELAY_FLOWS; relay++) {
      await sendInGroupOrder(sqs, queues.queueUrl, [relayMessages(relay)]);
      const lastVersion = relayVersion(relay, MESSAGES_PER_RELAY - 1);
      await eventually(
        async () => {
          const documents = await readStoredDocuments(query().url, SHARED_KEYS);
          return SHARED_KEYS.every((key) => documents.get(key)?.version === lastVersion) ? true : undefined;
        },
        60_000,
        `the shared keys to hold the last message of ${relayFlowId(relay)}`,
      );
    }
  }

  const messages = (worker: ServiceProcess, outcome: string) =>
    readCounter(worker.url, 'setgetapi_ingest_messages_total', { outcome });
  const keyWrites = (worker: ServiceProcess, outcome: string) =>
    readCounter(worker.url, 'setgetapi_ingest_keys_total', { outcome });
  const acrossWorkers = async (read: (worker: ServiceProcess) => Promise<number>) =>
    (await Promise.all(workers().map(read))).reduce((sum, value) => sum + value, 0);

  it('applies every message exactly once, each group in order, with both workers taking part', async () => {
    const { sqs, queues } = harness();
    const flows = Array.from({ length: FLOWS }, (_, flow) => flowMessages(flow));
    await Promise.all([sendInGroupOrder(sqs, queues.queueUrl, flows), relayThroughSharedKeys()]);
    const drained = async () => ((await queueDepth(sqs, queues.queueUrl)) === 0 ? true : undefined);
    await eventually(drained, 60_000, 'the queue to drain');

    const storedByWorker = await Promise.all(workers().map((worker) => messages(worker, 'stored')));
    expect(storedByWorker.every((stored) => stored > 0)).toBe(true);
    expect(storedByWorker[0] + storedByWorker[1]).toBe(MESSAGES);
    expect(await acrossWorkers((worker) => keyWrites(worker, 'applied'))).toBe(KEY_WRITES);
    // A message of a group applied after a later one of the same group would meet a greater version: stale.
    expect(await acrossWorkers((worker) => messages(worker, 'stale'))).toBe(0);
    expect(await acrossWorkers((worker) => keyWrites(worker, 'stale'))).toBe(0);
    expect(await acrossWorkers((worker) => messages(worker, 'retried'))).toBe(0);
    expect(await acrossWorkers((worker) => messages(worker, 'rejected'))).toBe(0);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    // Messages are sent faster than they are applied, so a group's backlog is received several at a time.
    const { largestGroupBatch } = await receiveStats(queues.queueUrl);
    expect(largestGroupBatch).toBeGreaterThan(1);
    expect(workers().map((worker) => worker.child.exitCode)).toEqual([null, null]);

    const expectDocument = (document: StoredDocument | undefined, flow: string, seq: number, version: number) =>
      expect(document && { flowId: document.flowId, data: document.data, version: document.version }).toEqual({
        flowId: flow,
        data: { flowId: flow, seq },
        version,
      });

    const keys = flows.flatMap((_, flow) => [groupKey(flow), ...OWN_KEY_SEQS.map((seq) => messageKey(flow, seq))]);
    const documents = await readStoredDocuments(query().url, keys);
    expect(documents.size).toBe(keys.length);
    for (let flow = 0; flow < FLOWS; flow++) {
      expectDocument(documents.get(groupKey(flow)), flowId(flow), MESSAGES_PER_FLOW - 1, MESSAGES_PER_FLOW - 1);
      const storedAt: number[] = [];
      for (const seq of OWN_KEY_SEQS) {
        const document = documents.get(messageKey(flow, seq));
        expectDocument(document, flowId(flow), seq, seq);
        storedAt.push(Date.parse(document?.storedAt ?? ''));
      }
      // Each message of a group is received only once the one before it was applied and deleted, by either worker.
      expect(storedAt).toEqual([...storedAt].sort((a, b) => a - b));
    }

    const lastRelay = RELAY_FLOWS - 1;
    const lastSeq = MESSAGES_PER_RELAY - 1;
    const relayKeys = [
      ...SHARED_KEYS,
      ...Array.from({ length: RELAY_FLOWS * MESSAGES_PER_RELAY }, (_, index) =>
        relayMessageKey(Math.floor(index / MESSAGES_PER_RELAY), index % MESSAGES_PER_RELAY),
      ),
    ];
    const relayDocuments = await readStoredDocuments(query().url, relayKeys);
    expect(relayDocuments.size).toBe(relayKeys.length);
    for (const key of SHARED_KEYS) {
      expectDocument(relayDocuments.get(key), relayFlowId(lastRelay), lastSeq, relayVersion(lastRelay, lastSeq));
    }
    for (let relay = 0; relay < RELAY_FLOWS; relay++) {
      for (let seq = 0; seq < MESSAGES_PER_RELAY; seq++) {
        const document = relayDocuments.get(relayMessageKey(relay, seq));
        expectDocument(document, relayFlowId(relay), seq, relayVersion(relay, seq));
      }
    }
  });
});
