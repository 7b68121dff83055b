import fc from 'fast-check';
import { WebhookKeyDigester } from '../store/key-layout';
import { JournalEntry } from '../store/journal-store';
import { renderRecordBody } from '../store/record-body';
import {
  describeBody,
  describeParsedBody,
  describeRenderedBody,
  journalWrites,
  policyId,
  policyWrite,
  rekeyWrite,
  restorableKeys,
  snapshotWrites,
} from './archive-documents';

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

/** The fields every upsert of datum-2 sets, from the journal and from a snapshot alike. */
const DATUM_FIELDS = {
  accountId: 'acme',
  flowId: 'orders',
  version: 4,
  storedAt: new Date(STORED_AT),
  expiresAt: new Date(EXPIRES_AT),
  body: BODY,
};

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
      { digest: 'digest-a', previous: 'datum-1', generation: '1796000000000001' },
      { digest: 'digest-b', previous: '', generation: '1796000000000002' },
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
              ...DATUM_FIELDS,
              keys: ['digest-a', 'digest-b'],
            },
            // Both keys held it from the generation of this write: a later ending of either wins, an earlier one not.
            $max: { 'heldKeys.digest-a': 1_796_000_000_000_001, 'heldKeys.digest-b': 1_796_000_000_000_002 },
            $setOnInsert: { firstArchivedAt: NOW, deleted: false, deletedAt: null, replacedAt: null },
          },
          upsert: true,
        },
      },
    ]);
  });

  it('keeps the masks the writer knew, so that re-key can move a key Redis lost before any snapshot', () => {
    const keys = [
      { digest: 'digest-a', previous: 'datum-1', mask: 'mask-a' },
      { digest: 'digest-b', previous: '' },
    ];
    const [datum] = journalWrites([entry({ keys })], NOW).datums;
    expect(datum).toMatchObject({ updateOne: { update: { $set: { 'masks.digest-a': 'mask-a' } } } });
    expect(Object.keys((datum as { updateOne: { update: { $set: object } } }).updateOne.update.$set)).not.toContain(
      'masks.digest-b',
    );
  });

  /** An ending as an upsert: on a document that may not exist yet, with the defaults a datum's upsert sets. */
  const ending = (
    datumId: string,
    $set: Record<string, unknown>,
    defaults: Record<string, unknown>,
    $max?: Record<string, Date | number>,
  ) => ({
    updateOne: {
      filter: { _id: datumId },
      update: { $set, $setOnInsert: { accountId: 'acme', firstArchivedAt: NOW, ...defaults }, ...($max && { $max }) },
      upsert: true,
    },
  });
  /** A key's ending: its time and generation by $max (the latest ending counts), its reason set. */
  const keyEnding = (
    datumId: string,
    digest: string,
    reason: string,
    defaults: Record<string, unknown>,
    generation?: number,
  ) =>
    ending(datumId, { [`endedKeys.${digest}.reason`]: reason }, defaults, {
      [`endedKeys.${digest}.at`]: new Date(STORED_AT),
      ...(generation !== undefined && { [`endedKeys.${digest}.generation`]: generation }),
    });

  it('records, after the datums, which keys of older datums were overwritten and which datums ended', () => {
    const { endings } = journalWrites([entry()], NOW);
    const unended = { deleted: false, deletedAt: null, replacedAt: null };
    expect(endings).toEqual([
      // Ended at the generation of the write that ended it, the same that holds the key on datum-2.
      keyEnding('datum-1', 'digest-a', 'replaced', unended, 1_796_000_000_000_001),
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
      keyEnding('datum-2', 'digest-a', 'deleted', { deleted: false, deletedAt: null, replacedAt: null }),
      ending('datum-2', { deleted: true, deletedAt: new Date(STORED_AT) }, { replacedAt: null }),
    ]);
  });

  it("ends a key under the older secret's digest it held the datum under, when the write moved it to the newest", () => {
    const moved = entry({ keys: [{ digest: 'digest-new', previous: 'datum-1', previousUnder: 'digest-old' }] });
    expect(journalWrites([moved], NOW).endings[0]).toMatchObject({
      updateOne: {
        filter: { _id: 'datum-1' },
        update: {
          $set: { 'endedKeys.digest-old.reason': 'replaced' },
          $max: { 'endedKeys.digest-old.at': new Date(STORED_AT) },
        },
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
      [{ datumId: 'datum-2', body: BODY, digests: ['digest-a'], masks: [''], expiresAt: EXPIRES_AT }],
      NOW,
    );
    expect(writes).toEqual([
      {
        updateOne: {
          filter: { _id: 'datum-2' },
          update: {
            $set: {
              ...DATUM_FIELDS,
              keys: ['digest-a'],
              // Found live: not ended as a whole, whatever an ending copied before said (it was written again).
              deleted: false,
              deletedAt: null,
              replacedAt: null,
            },
            $setOnInsert: { firstArchivedAt: NOW },
          },
          upsert: true,
        },
      },
    ]);
  });

  it('sets the mask of each key that has one, key by key, so masks written before stay', () => {
    const [write] = snapshotWrites(
      [{ datumId: 'datum-2', body: BODY, digests: ['digest-a', 'digest-b'], masks: ['mask-a', ''], expiresAt: null }],
      NOW,
    );
    const update = (write as { updateOne: { update: { $set: Record<string, unknown> } } }).updateOne.update.$set;
    expect(update['masks.digest-a']).toBe('mask-a');
    expect(Object.keys(update).filter((field) => field.startsWith('masks'))).toEqual(['masks.digest-a']);
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
      deleted: false,
    };
    expect(restorableKeys(record)).toEqual({ restorable: ['digest-a', 'digest-c'], ended: 1 });
    expect(restorableKeys({ keys: ['digest-a'], deleted: false })).toEqual({ restorable: ['digest-a'], ended: 0 });
  });

  it('offers a key that held the datum again after its ending (a higher generation), and only then', () => {
    const record = (held: number | undefined, endedAt: number | undefined) => ({
      keys: ['digest-a'],
      endedKeys: {
        'digest-a': { at: NOW, reason: 'replaced' as const, ...(endedAt !== undefined && { generation: endedAt }) },
      },
      ...(held !== undefined && { heldKeys: { 'digest-a': held } }),
      deleted: false,
    });
    expect(restorableKeys(record(1_000_001, 1_000_000)).restorable).toEqual(['digest-a']);
    expect(restorableKeys(record(999_999, 1_000_000)).restorable).toEqual([]);
    expect(restorableKeys(record(1_000_000, 1_000_000)).restorable).toEqual([]);
    // An ending archived before generations is final; so is one on a key no journaled write held.
    expect(restorableKeys(record(1_000_001, undefined)).restorable).toEqual([]);
    expect(restorableKeys(record(undefined, 1_000_000)).restorable).toEqual([]);
    // A datum deleted as a whole: a key without an ending of its own stays deleted, one held again after its own
    // ending (the delete's) comes back.
    const deleted = {
      keys: ['digest-a', 'digest-b'],
      endedKeys: { 'digest-b': { at: NOW, reason: 'deleted' as const, generation: 5 } },
      heldKeys: { 'digest-a': 9, 'digest-b': 6 },
      deleted: true,
    };
    expect(restorableKeys(deleted)).toEqual({ restorable: ['digest-b'], ended: 1 });
  });
});

describe('rekeyWrite', () => {
  const older = new WebhookKeyDigester('older-secret-0123456789');
  const rotating = new WebhookKeyDigester('newer-secret-0123456789', 'older-secret-0123456789');
  const [live, ended, bare] = ['wh-live', 'wh-ended', 'wh-bare'].map((key) => older.digested(key));
  const at = new Date('2026-11-30T10:00:00Z');
  const now = new Date('2026-11-30T12:00:00Z');

  it('renames every key with a mask to the newest secret, in keys, masks, endings and holds alike', () => {
    const { write, unmovable } = rekeyWrite(
      {
        _id: 'datum-1',
        keys: [live.digests[0], ended.digests[0]],
        masks: { [live.digests[0]]: live.mask, [ended.digests[0]]: ended.mask },
        endedKeys: { [ended.digests[0]]: { at, reason: 'replaced', generation: 7 } },
        heldKeys: { [live.digests[0]]: 5 },
        deleted: false,
        expiresAt: null,
      },
      rotating,
      now,
    );
    expect(unmovable).toBe(0);
    const newest = (key: string) => rotating.digested(key);
    expect(write).toEqual({
      updateOne: {
        filter: { _id: 'datum-1', keys: [live.digests[0], ended.digests[0]] },
        update: {
          $set: {
            keys: [newest('wh-live').digests[0], newest('wh-ended').digests[0]],
            [`masks.${newest('wh-live').digests[0]}`]: newest('wh-live').mask,
            [`masks.${newest('wh-ended').digests[0]}`]: newest('wh-ended').mask,
            [`endedKeys.${newest('wh-ended').digests[0]}.reason`]: 'replaced',
          },
          // Moved by $max: the newest digest may hold a later ending or hold of its own (a replay under it).
          $max: {
            [`endedKeys.${newest('wh-ended').digests[0]}.at`]: at,
            [`endedKeys.${newest('wh-ended').digests[0]}.generation`]: 7,
            [`heldKeys.${newest('wh-live').digests[0]}`]: 5,
          },
          $unset: {
            [`masks.${live.digests[0]}`]: '',
            [`masks.${ended.digests[0]}`]: '',
            [`endedKeys.${ended.digests[0]}`]: '',
            [`heldKeys.${live.digests[0]}`]: '',
          },
        },
      },
    });
  });

  it('renames the endings of a document that holds only endings (its datum never reached the archive)', () => {
    const { write, unmovable } = rekeyWrite(
      {
        _id: 'datum-5',
        masks: { [ended.digests[0]]: ended.mask },
        endedKeys: { [ended.digests[0]]: { at, reason: 'replaced' } },
        deleted: false,
        expiresAt: null,
      },
      rotating,
      now,
    );
    expect(unmovable).toBe(0);
    const newest = rotating.digested('wh-ended');
    expect(write).toEqual({
      updateOne: {
        filter: { _id: 'datum-5', keys: { $exists: false } },
        update: {
          $set: {
            [`masks.${newest.digests[0]}`]: newest.mask,
            [`endedKeys.${newest.digests[0]}.reason`]: 'replaced',
          },
          $max: { [`endedKeys.${newest.digests[0]}.at`]: at },
          $unset: { [`masks.${ended.digests[0]}`]: '', [`endedKeys.${ended.digests[0]}`]: '' },
        },
      },
    });
  });

  it('counts a restorable key without a mask unmovable, and leaves it; an ended one is not counted', () => {
    const { write, unmovable } = rekeyWrite(
      {
        _id: 'datum-2',
        keys: [bare.digests[0], ended.digests[0]],
        endedKeys: { [ended.digests[0]]: { at, reason: 'deleted' } },
        deleted: false,
        expiresAt: null,
      },
      rotating,
      now,
    );
    expect({ write, unmovable }).toEqual({ write: null, unmovable: 1 });
    const bareKey = { _id: 'datum-3', keys: [bare.digests[0]] };
    expect(rekeyWrite({ ...bareKey, deleted: true, expiresAt: null }, rotating, now).unmovable).toBe(0);
    // Expired: no restore writes it back, so it does not hold the old secret.
    expect(rekeyWrite({ ...bareKey, deleted: false, expiresAt: at }, rotating, now).unmovable).toBe(0);
  });

  it('changes nothing under the newest secret, and drops masks of digests the datum names no more', () => {
    const current = rotating.digested('wh-live');
    const unchanged = {
      _id: 'datum-4',
      keys: current.digests.slice(0, 1),
      masks: { [current.digests[0]]: current.mask },
    };
    const live4 = { ...unchanged, deleted: false, expiresAt: null };
    expect(rekeyWrite(live4, rotating, now)).toEqual({ write: null, unmovable: 0 });
    const stale = { ...unchanged.masks, [live.digests[0]]: live.mask };
    expect(rekeyWrite({ ...live4, masks: stale }, rotating, now).write).toEqual({
      updateOne: {
        filter: { _id: 'datum-4', keys: unchanged.keys },
        update: { $unset: { [`masks.${live.digests[0]}`]: '' } },
      },
    });
  });
});

describe('describeBody', () => {
  const bodyFields = fc.record({
    accountId: fc.string({ unit: 'binary', maxLength: 40 }),
    flowId: fc.string({ unit: 'binary', maxLength: 40 }),
    data: fc.jsonValue(),
    version: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), { nil: null }),
    storedAt: fc.integer({ min: 0, max: 8_640_000_000_000_000 }),
    expiresAt: fc.option(fc.integer({ min: 0, max: 8_640_000_000_000_000 }), { nil: null }),
  });

  it('reads what JSON.parse reads from every document renderRecordBody writes, without parsing it whole', () => {
    fc.assert(
      fc.property(bodyFields, ({ data, ...fields }) => {
        const { json } = renderRecordBody({ ...fields, dataJson: JSON.stringify(data) ?? 'null' });
        const fast = describeRenderedBody(json);
        expect(fast).not.toBeNull();
        expect(fast).toEqual(describeParsedBody(json));
        expect(describeBody(json)).toEqual(describeParsedBody(json));
      }),
      { numRuns: 2000 },
    );
  });

  it('parses whole a document laid out otherwise, and gives the same fields', () => {
    fc.assert(
      fc.property(bodyFields, ({ data, ...fields }) => {
        const storedAt = new Date(fields.storedAt).toISOString();
        const expiresAt = fields.expiresAt === null ? null : new Date(fields.expiresAt).toISOString();
        // The data last, its own fields looking like the tail: not read as the document's.
        const json = JSON.stringify({
          accountId: fields.accountId,
          flowId: fields.flowId,
          version: fields.version,
          storedAt,
          expiresAt,
          data: { data, version: 7, storedAt: '2001-01-01T00:00:00.000Z', expiresAt: null },
        });
        expect(describeRenderedBody(json)).toBeNull();
        expect(describeBody(json)).toEqual(describeParsedBody(json));
      }),
      { numRuns: 500 },
    );
  });
});
