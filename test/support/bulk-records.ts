import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';

/** The messages of one FIFO group, in the order they must be applied. */
export interface GroupMessages {
  groupId: string;
  bodies: string[];
}

/** A document as GET /v1/data and POST /v1/data/batch-get return it. */
export interface StoredDocument {
  accountId: string;
  flowId: string;
  data: unknown;
  version: number | null;
  storedAt: string;
  expiresAt: string | null;
}

/**
 * Sends many groups' messages straight to a FIFO queue with SendMessageBatch. Round r sends the r-th message of
 * every group, ten per request and the requests of a round concurrently: a request never holds two messages of
 * one group, and a round starts only once the previous one is queued, so each group keeps its order.
 */
export async function sendInGroupOrder(sqs: SQSClient, queueUrl: string, groups: GroupMessages[]): Promise<void> {
  const rounds = Math.max(0, ...groups.map((group) => group.bodies.length));
  for (let round = 0; round < rounds; round++) {
    const entries = groups.flatMap(({ groupId, bodies }) =>
      round < bodies.length
        ? [{ MessageBody: bodies[round], MessageGroupId: groupId, MessageDeduplicationId: randomUUID() }]
        : [],
    );
    const requests: Promise<void>[] = [];
    for (let start = 0; start < entries.length; start += 10) {
      const chunk = entries.slice(start, start + 10).map((entry, index) => ({ Id: String(index), ...entry }));
      requests.push(
        sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk })).then((sent) => {
          if (sent.Failed?.length) throw new Error(`SendMessageBatch refused entries: ${JSON.stringify(sent.Failed)}`);
        }),
      );
    }
    await Promise.all(requests);
  }
}

/** Reads every key through POST /v1/data/batch-get (100 keys per request); keys it reports missing are absent. */
export async function readStoredDocuments(
  queryUrl: string,
  webhookKeys: string[],
): Promise<Map<string, StoredDocument>> {
  const documents = new Map<string, StoredDocument>();
  for (let start = 0; start < webhookKeys.length; start += 100) {
    const response = await fetch(`${queryUrl}/v1/data/batch-get`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ webhookKeys: webhookKeys.slice(start, start + 100) }),
    });
    if (response.status !== 200) throw new Error(`batch-get answered ${response.status}: ${await response.text()}`);
    const { items } = (await response.json()) as { items: Record<string, StoredDocument> };
    for (const [key, document] of Object.entries(items)) documents.set(key, document);
  }
  return documents;
}
