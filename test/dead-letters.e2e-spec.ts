import { ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { ACME, ADMIN_KEY, eventually, GLOBEX, startTestApp, TestApp } from './support/app';
import { useHarness } from './support/harness';
import { freePort } from './support/redis-server';
import { createQueuePair, drainMessages, QueuePair, queueDepth, sendRaw } from './support/sqs';

interface DeadLetterItem {
  messageId: string;
  accountId?: string;
  flowId?: string;
  errorCode: string;
  errorMessage: string;
  body: string;
}

interface Job {
  jobId: string;
  status: string;
  progress: Record<string, number>;
}

const newKey = () => `wh-${randomUUID()}`;

/**
 * A key prefix for the services of one extra queue pair: the dead-letter index mirrors one DLQ, and a sweep of the
 * suite's own DLQ would forget the entries of another queue's dead letters under a shared prefix.
 */
const ownPrefix = () => ({ REDIS_KEY_PREFIX: `t${randomUUID().slice(0, 8)}:` });

describe('message status, dead letters, redrive and jobs', () => {
  const harness = useHarness({ apps: 1, env: { DEAD_LETTER_SWEEP_SECONDS: '1' } });
  const app = (): TestApp => harness().apps[0];

  async function post(apiKey: string, body: Record<string, unknown>): Promise<string> {
    const response = await request(app().url).post('/v1/records').set('x-api-key', apiKey).send(body);
    expect(response.status).toBe(202);
    return (response.body as { messageId: string }).messageId;
  }

  async function statusOf(messageId: string, apiKey = ACME.apiKey): Promise<Record<string, unknown>> {
    return eventually(
      async () => {
        const response = await request(app().url).get(`/v1/records/${messageId}`).set('x-api-key', apiKey);
        return response.status === 200 ? (response.body as Record<string, unknown>) : undefined;
      },
      15_000,
      `the status of ${messageId}`,
    );
  }

  async function read(key: string): Promise<{ status: number; data?: unknown }> {
    const response = await request(app().url).get('/v1/data').set('x-webhook-key', key);
    return { status: response.status, data: (response.body as { data?: unknown }).data };
  }

  async function deadLetters(query: Record<string, string> = {}, url = app().url) {
    const response = await request(url).get('/admin/dead-letters').query(query).set('x-api-key', ADMIN_KEY);
    expect(response.status).toBe(200);
    return response.body as { items: DeadLetterItem[]; nextCursor: string | null };
  }

  async function deadLetterIds(query: Record<string, string> = {}): Promise<string[]> {
    return (await deadLetters({ ...query, limit: '100' })).items.map((item) => item.messageId);
  }

  async function finishedJob(jobId: string, url = app().url, timeoutMs = 60_000): Promise<Job> {
    return eventually(
      async () => {
        const response = await request(url).get(`/admin/jobs/${jobId}`).set('x-api-key', ADMIN_KEY);
        const job = response.body as Job;
        return response.status === 200 && job.status !== 'running' ? job : undefined;
      },
      timeoutMs,
      `job ${jobId} to finish`,
    );
  }

  async function redrive(body: Record<string, unknown>, url = app().url): Promise<string> {
    const response = await request(url).post('/admin/dead-letters/redrive').set('x-api-key', ADMIN_KEY).send(body);
    expect(response.status).toBe(202);
    return (response.body as { jobId: string }).jobId;
  }

  /** A key globex owns, so that an acme message writing only it is dead-lettered KEY_OWNED_BY_OTHER_ACCOUNT. */
  async function globexOwned(key: string): Promise<void> {
    await statusOf(
      await post(GLOBEX.apiKey, { accountId: 'globex', flowId: 'f', webhookKeys: [key], data: 'g' }),
      GLOBEX.apiKey,
    );
  }

  async function releaseFromGlobex(key: string): Promise<void> {
    const id = await post(GLOBEX.apiKey, { op: 'delete', accountId: 'globex', flowId: 'f', webhookKeys: [key] });
    await statusOf(id, GLOBEX.apiKey);
  }

  it('shows applied with per-key counts, and dead-lettered with the reason in the status and in the list', async () => {
    const key = newKey();
    const applied = await post(ACME.apiKey, {
      accountId: 'acme',
      flowId: 'status',
      webhookKeys: [key, newKey()],
      data: 1,
    });
    expect(await statusOf(applied)).toMatchObject({
      messageId: applied,
      accountId: 'acme',
      flowId: 'status',
      status: 'applied',
      keys: { applied: 2, stale: 0, foreign: 0 },
    });
    // Another account's message is unknown to this producer.
    await request(app().url).get(`/v1/records/${applied}`).set('x-api-key', GLOBEX.apiKey).expect(404);

    const owned = newKey();
    await globexOwned(owned);
    const refused = await post(ACME.apiKey, { accountId: 'acme', flowId: 'status', webhookKeys: [owned], data: 2 });
    expect(await statusOf(refused)).toMatchObject({
      status: 'dead-lettered',
      errorCode: 'KEY_OWNED_BY_OTHER_ACCOUNT',
      keys: { applied: 0, stale: 0, foreign: 1 },
    });
    const listed = await deadLetters({ errorCode: 'KEY_OWNED_BY_OTHER_ACCOUNT', accountId: 'acme' });
    expect(listed.items.map((item) => item.messageId)).toContain(refused);
    const one = await request(app().url).get(`/admin/dead-letters/${refused}`).set('x-api-key', ADMIN_KEY).expect(200);
    expect(one.body).toMatchObject({ messageId: refused, accountId: 'acme', flowId: 'status', receiveCount: 1 });
    // The index shows the body with its webhook keys withheld: Redis never holds one in clear.
    expect(JSON.parse((one.body as DeadLetterItem).body)).toMatchObject({ webhookKeys: ['[webhook key]'], data: 2 });
    expect((one.body as DeadLetterItem).body).not.toContain(owned);
    await request(app().url).get(`/v1/records/${randomUUID()}`).set('x-api-key', ACME.apiKey).expect(404);
  });

  it('lists a message SQS dead-lettered by itself, with MOVED_BY_SQS', async () => {
    const { sqs, startApp } = harness();
    const queues = await createQueuePair(sqs, { maxReceiveCount: 1, visibilityTimeoutSeconds: 1 });
    const prefix = ownPrefix();
    // No worker decides: a consumer that takes it and dies, twice, and SQS moves it at the next receive.
    const body = JSON.stringify({ accountId: 'acme', flowId: 'lost', webhookKeys: [newKey()], data: 'x' });
    const sent = await sendRaw(sqs, queues.queueUrl, body, 'acme:lost');
    for (let attempt = 0; attempt < 3; attempt++) {
      const got = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, WaitTimeSeconds: 1 }));
      for (const message of got.Messages ?? []) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queues.queueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
    const scheduler = await startApp({ APP_ROLES: 'admin,scheduler', ...prefix }, queues);
    const item = await eventually(
      async () => (await deadLetters({}, scheduler.url)).items.find((found) => found.messageId === sent),
      20_000,
      'the message SQS moved to be listed',
    );
    expect(item).toMatchObject({ accountId: 'acme', flowId: 'lost', errorCode: 'MOVED_BY_SQS' });
    expect(item.body).toBe(body.replace(/wh-[0-9a-f-]+/, '[webhook key]'));
    // Still in the dead-letter queue: the index is a copy, never the only one. The entry is indexed before the
    // message is moved into a group of its own (a send, then a delete of the original), so for a moment the queue
    // holds two copies; it settles at exactly one (none would mean the move lost it, two that it never finished).
    await eventually(
      async () => ((await queueDepth(sqs, queues.dlqUrl)) === 1 ? true : undefined),
      10_000,
      'the dead-letter queue to hold the message exactly once',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(1);
  });

  it('never lets a redriven message overwrite data a later message stored, versioned or not', async () => {
    const unversioned = newKey();
    const versioned = newKey();
    const readable = newKey();
    for (const key of [unversioned, versioned, readable]) await globexOwned(key);
    const old = [
      await post(ACME.apiKey, { accountId: 'acme', flowId: 'redrive', webhookKeys: [unversioned], data: 'old' }),
      await post(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'redrive',
        webhookKeys: [versioned],
        data: 'old',
        version: 1,
      }),
      await post(ACME.apiKey, { accountId: 'acme', flowId: 'redrive', webhookKeys: [readable], data: 'redriven' }),
    ];
    for (const id of old) expect(await statusOf(id)).toMatchObject({ status: 'dead-lettered' });
    for (const key of [unversioned, versioned, readable]) await releaseFromGlobex(key);
    // Newer data, sent after the dead letters: unversioned, and versioned with a version at or above theirs.
    await statusOf(
      await post(ACME.apiKey, { accountId: 'acme', flowId: 'redrive', webhookKeys: [unversioned], data: 'new' }),
    );
    await statusOf(
      await post(ACME.apiKey, {
        accountId: 'acme',
        flowId: 'redrive',
        webhookKeys: [versioned],
        data: 'new',
        version: 1,
      }),
    );

    const job = await finishedJob(await redrive({ messageIds: old }));
    expect(job).toMatchObject({ status: 'succeeded', progress: { total: 3, redriven: 3, missing: 0 } });
    await eventually(
      async () => ((await read(readable)).data === 'redriven' ? true : undefined),
      15_000,
      'redriven data',
    );
    // Each redriven message is decided again under its first id: stale where newer data stands.
    expect(await statusOf(old[0])).toMatchObject({ status: 'applied', keys: { applied: 0, stale: 1 } });
    expect(await statusOf(old[1])).toMatchObject({ status: 'applied', keys: { applied: 0, stale: 1 } });
    expect(await read(unversioned)).toEqual({ status: 200, data: 'new' });
    expect(await read(versioned)).toEqual({ status: 200, data: 'new' });
    expect(await deadLetterIds({ flowId: 'redrive' })).toEqual([]);
    expect(await queueDepth(harness().sqs, harness().queues.dlqUrl)).toBe(await countIndexed());
  });

  it('brings nothing back over a later delete, and keeps a message that fails again in the dead-letter queue', async () => {
    const deletedLater = newKey();
    const stillForeign = newKey();
    for (const key of [deletedLater, stillForeign]) await globexOwned(key);
    const old = await post(ACME.apiKey, { accountId: 'acme', flowId: 'again', webhookKeys: [deletedLater], data: 'x' });
    const again = await post(ACME.apiKey, { accountId: 'acme', flowId: 'again', webhookKeys: [stillForeign], data: 1 });
    for (const id of [old, again]) expect(await statusOf(id)).toMatchObject({ status: 'dead-lettered' });
    await releaseFromGlobex(deletedLater);
    // acme stores, then deletes without a version, after the dead letter was sent.
    await statusOf(
      await post(ACME.apiKey, { accountId: 'acme', flowId: 'again', webhookKeys: [deletedLater], data: 'y' }),
    );
    await statusOf(
      await post(ACME.apiKey, { op: 'delete', accountId: 'acme', flowId: 'again', webhookKeys: [deletedLater] }),
    );

    const job = await finishedJob(await redrive({ messageIds: [old, again] }));
    expect(job).toMatchObject({ status: 'succeeded', progress: { total: 2, redriven: 2, missing: 0 } });
    await eventually(
      async () => {
        const status = await statusOf(old);
        return status.status === 'applied' ? status : undefined;
      },
      15_000,
      'the redriven message to be decided',
    );
    expect(await statusOf(old)).toMatchObject({ keys: { applied: 0, stale: 1 } });
    expect(await read(deletedLater)).toMatchObject({ status: 404 });
    // Still owned by globex: dead-lettered again, and there it stays (the job sent it once, never deleted it twice).
    const item = await eventually(
      async () => (await deadLetters({ flowId: 'again' })).items.find((found) => found.messageId === again),
      15_000,
      'the message to be dead-lettered again',
    );
    expect(item).toMatchObject({ errorCode: 'KEY_OWNED_BY_OTHER_ACCOUNT' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await deadLetterIds({ flowId: 'again' })).toEqual([again]);
  });

  async function countIndexed(): Promise<number> {
    return (await deadLetterIds()).length;
  }

  it('sends several dead letters of one group back to the ingest queue in their original order', async () => {
    const { sqs, startApp } = harness();
    // No worker on this pair: what the redrive sends stays on the ingest queue to be read back.
    const queues = await createQueuePair(sqs);
    const admin = await startApp({ APP_ROLES: 'admin,scheduler', ...ownPrefix() }, queues);
    const ids = await putDeadLetters(queues, 'ordered', 6);
    await indexed(admin, ids);
    const job = await finishedJob(await redrive({ flowId: 'ordered' }, admin.url), admin.url);
    expect(job).toMatchObject({ status: 'succeeded', progress: { total: 6, redriven: 6 } });
    const back = await drainMessages(sqs, queues.queueUrl, 6);
    expect(back.map((message) => (JSON.parse(message.Body ?? '{}') as { data: number }).data)).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(back.every((message) => message.Attributes?.MessageGroupId === 'acme:ordered')).toBe(true);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
  });

  it('deletes exactly one dead letter, and pages stay stable while new dead letters arrive', async () => {
    const { sqs, startApp } = harness();
    const queues = await createQueuePair(sqs);
    const admin = await startApp({ APP_ROLES: 'admin,scheduler', ...ownPrefix() }, queues);
    const first = await putDeadLetters(queues, 'paged', 7);
    await indexed(admin, first);

    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    do {
      const page: { items: DeadLetterItem[]; nextCursor: string | null } = await deadLetters(
        { limit: '3', ...(cursor !== null && { cursor }) },
        admin.url,
      );
      seen.push(...page.items.map((item) => item.messageId));
      cursor = page.nextCursor;
      // New dead letters between pages: newer than every page read, so they never shift the later ones.
      if (added++ === 0) await indexed(admin, await putDeadLetters(queues, 'paged-later', 2));
    } while (cursor !== null);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(first));

    const depth = await queueDepth(sqs, queues.dlqUrl);
    await request(admin.url).delete(`/admin/dead-letters/${first[3]}`).set('x-api-key', ADMIN_KEY).expect(204);
    await request(admin.url).get(`/admin/dead-letters/${first[3]}`).set('x-api-key', ADMIN_KEY).expect(404);
    await request(admin.url).delete(`/admin/dead-letters/${first[3]}`).set('x-api-key', ADMIN_KEY).expect(404);
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(depth - 1);
    const left = (await deadLetters({ limit: '100' }, admin.url)).items.map((item) => item.messageId);
    expect(left).toHaveLength(8);
    expect(left).not.toContain(first[3]);
  });

  it('finishes a redrive after the admin process running it is killed with SIGKILL, losing and repeating nothing', async () => {
    const { sqs, spawnService, startApp } = harness();
    const queues = await createQueuePair(sqs);
    const prefix = ownPrefix();
    const count = 450;
    const ids = await putDeadLetters(queues, 'killed', count);
    // Indexed by a scheduler that is gone before the redrive starts: only the killed process and its successor run it.
    const indexer = await startTestApp(harness().env({ APP_ROLES: 'admin,scheduler', ...prefix }, queues));
    try {
      await indexed(indexer, ids);
    } finally {
      await indexer.close();
    }

    const first = await spawnService({ APP_ROLES: 'admin', LOG_LEVEL: 'info', ...prefix }, queues);
    await ready(first.url);
    const jobId = await redrive({ flowId: 'killed' }, first.url);
    await eventually(
      async () => {
        const response = await request(first.url).get(`/admin/jobs/${jobId}`).set('x-api-key', ADMIN_KEY);
        const progress = (response.body as Job).progress;
        return progress.redriven > 0 && progress.redriven < count ? true : undefined;
      },
      25_000,
      'the redrive to be under way',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${first.output()}`);
    });
    first.child.kill('SIGKILL');
    await first.exited;

    const second = await spawnService({ APP_ROLES: 'admin,worker', LOG_LEVEL: 'info', ...prefix }, queues);
    const job = await finishedJob(jobId, second.url, 150_000);
    expect(job.status).toBe('succeeded');
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    // Every message applied, each to its own key, exactly as it was sent.
    const reader = await startApp({ APP_ROLES: 'query', ...prefix }, queues);
    await everyDeadLetterApplied(reader.url, 'killed', count);
    expect(await queueDepth(sqs, queues.queueUrl)).toBe(0);
  }, 240_000);

  it('finishes a redrive that Redis interrupts by refusing writes (READONLY), losing and repeating nothing', async () => {
    const { sqs, redis, startApp } = harness();
    const queues = await createQueuePair(sqs);
    const prefix = ownPrefix();
    const count = 450;
    const ids = await putDeadLetters(queues, 'readonly', count);
    const indexer = await startTestApp(harness().env({ APP_ROLES: 'admin,scheduler', ...prefix }, queues));
    try {
      await indexed(indexer, ids);
    } finally {
      await indexer.close();
    }

    const admin = await startApp({ APP_ROLES: 'admin,worker,query', ...prefix }, queues);
    await ready(admin.url);
    const jobId = await redrive({ flowId: 'readonly' }, admin.url);
    await eventually(
      async () => {
        const response = await request(admin.url).get(`/admin/jobs/${jobId}`).set('x-api-key', ADMIN_KEY);
        const progress = (response.body as Job).progress;
        return progress.redriven > 0 && progress.redriven < count ? true : undefined;
      },
      25_000,
      'the redrive to be under way',
    );
    // A replica of a master nobody runs: it keeps its data and refuses every write (job progress, done set, lease
    // renewals, the worker's applies) until it is a master again. Shorter than the job lease (15 s).
    await redis.inspect.call('REPLICAOF', '127.0.0.1', String(await freePort()));
    try {
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const during = await request(admin.url).get(`/admin/jobs/${jobId}`).set('x-api-key', ADMIN_KEY);
      expect((during.body as Job).status).toBe('running');
    } finally {
      await redis.inspect.call('REPLICAOF', 'NO', 'ONE');
    }

    const job = await finishedJob(jobId, admin.url, 150_000);
    expect(job.status).toBe('succeeded');
    expect(await queueDepth(sqs, queues.dlqUrl)).toBe(0);
    await everyDeadLetterApplied(admin.url, 'readonly', count);
    expect(await queueDepth(sqs, queues.queueUrl)).toBe(0);
  }, 240_000);

  /** Waits until each of the `count` messages putDeadLetters made for `flowId` reads back as sent, under its own key. */
  async function everyDeadLetterApplied(url: string, flowId: string, count: number): Promise<void> {
    await eventually(
      async () => {
        for (let n = 0; n < count; n++) {
          const response = await request(url).get('/v1/data').set('x-webhook-key', `wh-${flowId}-${n}`);
          if (response.status !== 200 || (response.body as { data: unknown }).data !== n) return undefined;
        }
        return true;
      },
      60_000,
      'every redriven message to be applied',
    );
  }

  async function ready(url: string): Promise<void> {
    await eventually(async () => ((await fetch(`${url}/health/ready`)).ok ? true : undefined), 20_000, `${url} ready`);
  }

  /**
   * Puts `count` dead letters of one group straight into the DLQ, as the worker moves them (alone in a group named
   * after the message, with origin and reason), first sent in the order of their `data`.
   */
  async function putDeadLetters(queues: QueuePair, flowId: string, count: number): Promise<string[]> {
    const { sqs } = harness();
    const ids: string[] = [];
    const base = Date.now() - 60_000;
    for (let n = 0; n < count; n++) {
      const messageId = randomUUID();
      ids.push(messageId);
      const text = (value: string) => ({ DataType: 'String', StringValue: value });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.dlqUrl,
          MessageBody: JSON.stringify({ accountId: 'acme', flowId, webhookKeys: [`wh-${flowId}-${n}`], data: n }),
          MessageGroupId: messageId,
          MessageDeduplicationId: messageId,
          MessageAttributes: {
            originalMessageId: text(messageId),
            originalSentAt: text(String(base + n)),
            originalGroupId: text(`acme:${flowId}`),
            errorCode: text('RETRIES_EXHAUSTED'),
            errorMessage: text('Redis script error'),
            deadLetteredAt: text(String(Date.now())),
            receiveCount: text('5'),
          },
        }),
      );
    }
    return ids;
  }

  /** Waits until the sweep of `sweeper` (an app with the scheduler and admin roles) has indexed `ids`. */
  async function indexed(sweeper: TestApp, ids: string[]): Promise<void> {
    await eventually(
      async () => {
        const known = new Set<string>();
        let cursor: string | null = null;
        do {
          const page: { items: DeadLetterItem[]; nextCursor: string | null } = await deadLetters(
            { limit: '100', ...(cursor !== null && { cursor }) },
            sweeper.url,
          );
          for (const item of page.items) known.add(item.messageId);
          cursor = page.nextCursor;
        } while (cursor !== null);
        return ids.every((id) => known.has(id)) ? true : undefined;
      },
      30_000,
      'the dead letters to be indexed',
    );
  }
});
