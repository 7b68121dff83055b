import { JournalEntry } from '../store/journal-store';
import { journalWrites, policyId, policyWrite, restorableKeys, snapshotWrites } from './archive-documents';

const NOW = new Date('2026-11-25T02:00:00.000Z');
const STORED_AT = Date.parse('2026-11-24T10:00:00.000Z');
const EXPIRES_AT = Date.parse('2026-11-24T10:05:00.000Z');
const BODY = JSON.stringify({
  accountId: 'acme',
  flowId: 'orders',
  data: { n: 1 },
  version: 4,
  storedAt: new Date(STORED_AT).toISOString(),
  expiresAt: new Date(EXPIRES_AT).toISOString(),
});

function entry(overrides: Partial<JournalEntry> = {}): JournalEntry {
  return {
    shard: 0,
    id: '1-0',
    size: 1000,
    op: 'set',
    datumId: 'datum-2',
    accountId: 'acme',
    flowId: 'orders',
    version: 4,
    at: STORED_AT,
    expiresAt: EXPIRES_AT,
    keys: [
      { digest: 'digest-a', previous: 'datum-1' },
      { digest: 'digest-b', previous: '' },
    ],
    ended: ['datum-1'],
    body: BODY,
    ...overrides,
  };
}

describe('journalWrites', () => {
  it('upserts the datum a set stored, with its key digests, keyed by datum id', () => {
    const { datums } = journalWrites([entry()], NOW);
    expect(datums).toEqual([
      {
        updateOne: {
          filter: { _id: 'datum-2' },
          update: {
            $set: {
              accountId: 'acme',
              flowId: 'orders',
              version: 4,
              storedAt: new Date(STORED_AT),
              expiresAt: new Date(EXPIRES_AT),
              body: BODY,
              keys: ['digest-a', 'digest-b'],
            },
            $setOnInsert: { firstArchivedAt: NOW, deleted: false, deletedAt: null, replacedAt: null },
          },
          upsert: true,
        },
      },
    ]);
  });

  /** An ending as an upsert: on a document that may not exist yet, with the defaults a datum's upsert sets. */
  const ending = (datumId: string, $set: Record<string, unknown>, defaults: Record<string, unknown>) => ({
    updateOne: {
      filter: { _id: datumId },
      update: { $set, $setOnInsert: { accountId: 'acme', firstArchivedAt: NOW, ...defaults } },
      upsert: true,
    },
  });

  it('records, after the datums, which keys of older datums were overwritten and which datums ended', () => {
    const { endings } = journalWrites([entry()], NOW);
    const unended = { deleted: false, deletedAt: null, replacedAt: null };
    expect(endings).toEqual([
      ending('datum-1', { 'endedKeys.digest-a': { at: new Date(STORED_AT), reason: 'replaced' } }, unended),
      ending('datum-1', { replacedAt: new Date(STORED_AT) }, { deleted: false, deletedAt: null }),
    ]);
  });

  it('turns a delete into endings only: the keys deleted and the datum marked deleted', () => {
    const deleted = entry({
      op: 'delete',
      datumId: 'delete-1',
      body: null,
      keys: [{ digest: 'digest-a', previous: 'datum-2' }],
      ended: ['datum-2'],
    });
    const { datums, endings } = journalWrites([deleted], NOW);
    expect(datums).toEqual([]);
    expect(endings).toEqual([
      ending(
        'datum-2',
        { 'endedKeys.digest-a': { at: new Date(STORED_AT), reason: 'deleted' } },
        { deleted: false, deletedAt: null, replacedAt: null },
      ),
      ending('datum-2', { deleted: true, deletedAt: new Date(STORED_AT) }, { replacedAt: null }),
    ]);
  });

  it("ends a key under the older secret's digest it held the datum under, when the write moved it to the newest", () => {
    const moved = entry({ keys: [{ digest: 'digest-new', previous: 'datum-1', previousUnder: 'digest-old' }] });
    expect(journalWrites([moved], NOW).endings[0]).toMatchObject({
      updateOne: {
        filter: { _id: 'datum-1' },
        update: { $set: { 'endedKeys.digest-old': { at: new Date(STORED_AT), reason: 'replaced' } } },
      },
    });
  });

  it('writes a datum without expiry with expiresAt null', () => {
    const { datums } = journalWrites([entry({ expiresAt: null })], NOW);
    expect(datums[0]).toMatchObject({ updateOne: { update: { $set: { expiresAt: null } } } });
  });
});

describe('snapshotWrites', () => {
  it('takes account, flow, version and storedAt from the stored document, and never a key in clear', () => {
    const writes = snapshotWrites(
      [{ datumId: 'datum-2', body: BODY, digests: ['digest-a'], expiresAt: EXPIRES_AT }],
      NOW,
    );
    expect(writes).toEqual(
      journalWrites([entry({ keys: [{ digest: 'digest-a', previous: '' }], ended: [] })], NOW).datums,
    );
  });
});

describe('policies', () => {
  it('ids an account policy by its account and a flow policy by account/flow', () => {
    expect(policyId('acme', null)).toBe('acme');
    expect(policyId('acme', 'orders')).toBe('acme/orders');
  });

  it('upserts a policy and clears an earlier removal', () => {
    const write = policyWrite({
      accountId: 'acme',
      flowId: 'orders',
      ttlSeconds: null,
      updatedAt: '2026-11-20T00:00:00.000Z',
    });
    expect(write).toEqual({
      updateOne: {
        filter: { _id: 'acme/orders' },
        update: {
          $set: {
            accountId: 'acme',
            flowId: 'orders',
            ttlSeconds: null,
            updatedAt: new Date('2026-11-20T00:00:00.000Z'),
            removedAt: null,
          },
        },
        upsert: true,
      },
    });
  });
});

describe('restorableKeys', () => {
  it('offers only the keys no later write overwrote or deleted', () => {
    const record = {
      keys: ['digest-a', 'digest-b', 'digest-c'],
      endedKeys: { 'digest-b': { at: NOW, reason: 'deleted' as const } },
    };
    expect(restorableKeys(record)).toEqual({ restorable: ['digest-a', 'digest-c'], ended: 1 });
    expect(restorableKeys({ keys: ['digest-a'] })).toEqual({ restorable: ['digest-a'], ended: 0 });
  });
});
