import { loadConfig } from '../src/config/app-config';
import { JournalEntry, JournalStore, NewJournalEntry } from '../src/store/journal-store';
import { KeyLayout } from '../src/store/key-layout';
import { WEBHOOK_KEY_SECRET } from './support/app';
import { usePrivateRedis } from './support/redis-server';

/**
 * How an archive run reads a journal shard (JournalStore.batches): batch after batch, each read after the previous
 * one's last entry so the next can be read before this one is acknowledged, up to where the drain started.
 */
describe('journal drain batches (private redis-server)', () => {
  const privateRedis = usePrivateRedis();
  const client = () => privateRedis().client;
  // 1 MiB leaves room for one shard only: every entry lands in shard 0.
  const config = loadConfig({
    APP_ROLES: 'query',
    WEBHOOK_KEY_SECRET,
    MONGODB_URI: 'mongodb://127.0.0.1:9',
    ARCHIVE_JOURNAL_MAX_BYTES: String(1_048_576),
  });
  const entry = (n: number): NewJournalEntry => ({
    op: 'set',
    datumId: `drain-${n}`,
    accountId: 'acme',
    flowId: 'drain',
    version: n,
    at: 1_700_000_000_000 + n,
    expiresAt: null,
    keys: [{ digest: `digest-${n}`, previous: n > 0 ? `drain-${n - 1}` : '', mask: `mask-${n}` }],
    ended: n > 0 ? [`drain-${n - 1}`] : [],
    body: `{"n":${n}}`,
  });

  it('reads every entry up to the drain start once, in order, ahead of acknowledging, and only then frees them', async () => {
    const journal = new JournalStore(client(), new KeyLayout(config.redis.keyPrefix), config);
    for (let n = 0; n < 7; n++) await journal.append(entry(n));
    const drain = await journal.startDrain();
    const until = drain.shards.find(({ shard }) => shard === 0)?.until;
    expect(until).toBeDefined();
    // Written after the drain started: the next run's.
    await journal.append(entry(7));

    const batches = journal.batches(0, 3, until ?? '+');
    const read: JournalEntry[][] = [];
    for await (const batch of batches) {
      // Nothing is dropped by reading: the entries read before stay until acknowledged.
      expect((await journal.state()).bytes).toBeGreaterThan(0);
      read.push(batch);
    }
    expect(read.map((batch) => batch.map(({ datumId }) => datumId))).toEqual([
      ['drain-0', 'drain-1', 'drain-2'],
      ['drain-3', 'drain-4', 'drain-5'],
      ['drain-6'],
    ]);
    expect(read[1][1]).toMatchObject({
      op: 'set',
      accountId: 'acme',
      flowId: 'drain',
      version: 4,
      at: 1_700_000_000_004,
      expiresAt: null,
      keys: [{ digest: 'digest-4', previous: 'drain-3', mask: 'mask-4' }],
      ended: ['drain-3'],
      body: '{"n":4}',
    });

    const before = await journal.state();
    for (const batch of read) await journal.acknowledge(batch);
    const left = await journal.read(0, 100, '+');
    expect(left.map(({ datumId }) => datumId)).toEqual(['drain-7']);
    expect((await journal.state()).bytes).toBe(left[0].size);
    expect(before.bytes).toBe(read.flat().reduce((total, { size }) => total + size, left[0].size));
  });

  it('ends a shard whose entries fill the last batch exactly with no empty batch', async () => {
    const journal = new JournalStore(client(), new KeyLayout(config.redis.keyPrefix), config);
    await client().flushall();
    for (let n = 0; n < 4; n++) await journal.append(entry(n));
    const until = (await journal.startDrain()).shards.find(({ shard }) => shard === 0)?.until ?? '+';
    const sizes: number[] = [];
    for await (const batch of journal.batches(0, 2, until)) sizes.push(batch.length);
    expect(sizes).toEqual([2, 2]);
  });
});
