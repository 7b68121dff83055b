import { AnyBulkWriteOperation, mongo } from 'mongoose';
import { JournalEntry } from '../store/journal-store';
import { WebhookKeyDigester } from '../store/key-layout';
import { StoredDatum } from '../store/record-store';
import { TtlPolicy } from '../store/ttl-policy-store';
import { ArchivedPolicy, ArchivedRecord, KeyEnding } from './archive.schemas';

/** Driver-level operations: the repository sends them without mongoose's casting (they are built typed here). */
export type RecordWrite = mongo.AnyBulkWriteOperation<ArchivedRecord>;

/**
 * The MongoDB writes of a batch of journal entries, in two steps: first every datum the entries stored (upserts
 * keyed by datum id, so a replayed entry changes nothing), then the endings those writes caused (a key of an
 * older datum overwritten or deleted, a datum left without keys). No write depends on another having been made
 * first, so the documents come out the same whatever order the entries are copied in: the journal is sharded, and
 * the write that ends a datum may sit in a shard drained before the one holding the datum itself (or be journaled
 * before it, by a write of another flow racing it). An ending whose datum is not archived yet is an upsert too: it
 * leaves the ending on a document holding only that and the account (`body` absent), which the datum's own upsert
 * completes later; restores skip such a document, and runs prune it with the rest once it is older than the
 * retention.
 */
export function journalWrites(entries: JournalEntry[], now: Date): { datums: RecordWrite[]; endings: RecordWrite[] } {
  const datums: RecordWrite[] = [];
  const endings: RecordWrite[] = [];
  // One for the whole batch: a run builds a write per record, and what they build survives until MongoDB answers.
  const defaults = Object.freeze({ firstArchivedAt: now, deleted: false, deletedAt: null, replacedAt: null });
  for (const entry of entries) {
    const at = new Date(entry.at);
    const reason = entry.op === 'delete' ? 'deleted' : 'replaced';
    if (entry.op === 'set' && entry.body !== null) {
      const set: Record<string, unknown> = {
        accountId: entry.accountId,
        flowId: entry.flowId,
        version: entry.version,
        storedAt: at,
        expiresAt: entry.expiresAt === null ? null : new Date(entry.expiresAt),
        body: entry.body,
        keys: entry.keys.map(({ digest }) => digest),
      };
      // The masks the writer knew: a key whose record Redis loses before any snapshot stays movable by re-key.
      // `heldKeys.<digest>` of every key with a generation, for `$max`: the latest write of the key to this datum wins.
      let held: Record<string, number> | null = null;
      for (const { digest, mask, generation } of entry.keys) {
        if (mask) set[`masks.${digest}`] = mask;
        if (generation !== undefined) (held ??= {})[`heldKeys.${digest}`] = Number(generation);
      }
      datums.push(upsertDatum(entry.datumId, set, defaults, held));
    }
    for (const { digest, previous, previousUnder, generation } of entry.keys) {
      if (previous === '') continue;
      // The archived datum names the key by the digest it held it under, an older secret's after a rotation.
      const endedKey = `endedKeys.${previousUnder ?? digest}`;
      const ending: KeyEnding = { at, reason, ...(generation !== undefined && { generation: Number(generation) }) };
      endings.push(upsertKeyEnding(previous, entry.accountId, endedKey, ending, now));
    }
    for (const ended of entry.ended) {
      const update = entry.op === 'delete' ? { deleted: true, deletedAt: at } : { replacedAt: at };
      endings.push(upsertEnding(ended, entry.accountId, update, now));
    }
  }
  return { datums, endings };
}

/**
 * The upserts that make the archive hold every datum Redis holds now, with the keys that point at it now. What the
 * snapshot finds live is not ended as a whole, whatever an ending copied earlier said (a replay of its message wrote
 * it again since): `deleted` and `replacedAt` are cleared (no change on a document that was never ended, so a second
 * run still changes nothing). Which keys hold it again after their own ending is the journal's to say (`heldKeys`).
 */
export function snapshotWrites(datums: StoredDatum[], now: Date): RecordWrite[] {
  // Shared by the batch's writes (see journalWrites).
  const defaults = Object.freeze({ firstArchivedAt: now });
  return datums.map((datum) => {
    const { accountId, flowId, version, storedAt } = describeBody(datum.body);
    const set: Record<string, unknown> = {
      accountId,
      flowId,
      version,
      storedAt,
      expiresAt: datum.expiresAt === null ? null : new Date(datum.expiresAt),
      body: datum.body,
      keys: datum.digests,
      deleted: false,
      deletedAt: null,
      replacedAt: null,
    };
    // `masks.<digest>` of every key with a mask, set key by key, so that masks of keys a journal entry named (it
    // carries none) or an earlier snapshot wrote stay.
    for (let index = 0; index < datum.digests.length; index++) {
      if (datum.masks[index] !== '') set[`masks.${datum.digests[index]}`] = datum.masks[index];
    }
    return upsertDatum(datum.datumId, set, defaults, null);
  });
}

/**
 * A datum's upsert: `set` holds its fields and masks; `defaults` what a new document starts with besides (none of
 * the fields `set` sets); `held` the `$max` of its keys' holds, if any.
 */
function upsertDatum(
  datumId: string,
  set: Record<string, unknown>,
  defaults: Readonly<Record<string, unknown>>,
  held: Record<string, number> | null,
): RecordWrite {
  return {
    updateOne: {
      filter: { _id: datumId },
      update: { $set: set, ...(held !== null && { $max: held }), $setOnInsert: defaults },
      upsert: true,
    },
  };
}

/**
 * Sets an ending on an archived datum, creating the document when the datum's own upsert has not come yet: with the
 * account (a key's datums are all of the account owning the key, so an erasure finds it) and the defaults that
 * upsert would have set, except the fields being set here.
 */
function upsertEnding(
  datumId: string,
  accountId: string,
  ending: Record<string, unknown>,
  now: Date,
  latest: Record<string, Date | number> = {},
): RecordWrite {
  const defaults: Record<string, unknown> = {
    accountId,
    firstArchivedAt: now,
    deleted: false,
    deletedAt: null,
    replacedAt: null,
  };
  for (const field of Object.keys(ending)) delete defaults[field];
  const update = { $set: ending, $setOnInsert: defaults, ...(Object.keys(latest).length > 0 && { $max: latest }) };
  return { updateOne: { filter: { _id: datumId }, update, upsert: true } };
}

/**
 * The ending of one key of an archived datum: its time and generation by `$max` (a key can end, hold the datum again
 * after a replay, and end again; the shards come in any order, and the latest ending is the one that counts against
 * `heldKeys`), its reason as the last one copied says.
 */
function upsertKeyEnding(datumId: string, accountId: string, endedKey: string, ending: KeyEnding, now: Date) {
  return upsertEnding(
    datumId,
    accountId,
    { [`${endedKey}.reason`]: ending.reason },
    now,
    latestEnding(endedKey, ending),
  );
}

/** The `$max` fields of a key's ending. */
function latestEnding(endedKey: string, ending: KeyEnding): Record<string, Date | number> {
  return {
    [`${endedKey}.at`]: ending.at,
    ...(ending.generation !== undefined && { [`${endedKey}.generation`]: ending.generation }),
  };
}

/** The metadata of a stored document (the JSON that GET /v1/data answers), without parsing its `data`. */
export function describeBody(body: string): Pick<ArchivedRecord, 'accountId' | 'flowId' | 'version' | 'storedAt'> {
  return describeRenderedBody(body) ?? describeParsedBody(body);
}

export function describeParsedBody(
  body: string,
): Pick<ArchivedRecord, 'accountId' | 'flowId' | 'version' | 'storedAt'> {
  const document = JSON.parse(body) as { accountId: string; flowId: string; version: number | null; storedAt: string };
  return {
    accountId: document.accountId,
    flowId: document.flowId,
    version: document.version,
    storedAt: new Date(document.storedAt),
  };
}

const BODY_HEAD = '{"accountId":';
/** The fields renderRecordBody writes after `data`, last in the document: anchored at its end. */
const BODY_TAIL = /,"version":(null|-?\d{1,20}),"storedAt":"([^"\\]{20,30})","expiresAt":(?:null|"[^"\\]{20,30}")}$/;
/** Longer than any tail BODY_TAIL matches. */
const BODY_TAIL_CHARS = 160;

/**
 * The metadata read from the fields renderRecordBody writes around `data` (account and flow first, version, storedAt
 * and expiresAt last), so that a snapshot does not parse every datum's data (up to MAX_MESSAGE_BYTES) to learn four
 * fields. Null when the document is not laid out that way: the caller parses it whole.
 */
export function describeRenderedBody(
  body: string,
): Pick<ArchivedRecord, 'accountId' | 'flowId' | 'version' | 'storedAt'> | null {
  if (!body.startsWith(BODY_HEAD)) return null;
  const accountId = jsonStringAt(body, BODY_HEAD.length);
  if (accountId === null || !body.startsWith(',"flowId":', accountId.end)) return null;
  const flowId = jsonStringAt(body, accountId.end + ',"flowId":'.length);
  if (flowId === null || !body.startsWith(',"data":', flowId.end)) return null;
  const tail = BODY_TAIL.exec(body.slice(-BODY_TAIL_CHARS));
  if (tail === null) return null;
  return {
    accountId: accountId.value,
    flowId: flowId.value,
    version: JSON.parse(tail[1]) as number | null,
    storedAt: new Date(tail[2]),
  };
}

/** The JSON string literal starting at `start` (its opening quote), and where it ends; null when there is none. */
function jsonStringAt(text: string, start: number): { value: string; end: number } | null {
  if (text[start] !== '"') return null;
  for (let index = start + 1; index < text.length; index++) {
    const char = text[index];
    if (char === '\\') index++;
    else if (char === '"') {
      try {
        return { value: JSON.parse(text.slice(start, index + 1)) as string, end: index + 1 };
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function policyId(accountId: string, flowId: string | null): string {
  return flowId === null ? accountId : `${accountId}/${flowId}`;
}

export function policyWrite(policy: TtlPolicy): AnyBulkWriteOperation<ArchivedPolicy> {
  return {
    updateOne: {
      filter: { _id: policyId(policy.accountId, policy.flowId) },
      update: {
        $set: {
          accountId: policy.accountId,
          flowId: policy.flowId,
          ttlSeconds: policy.ttlSeconds,
          updatedAt: new Date(policy.updatedAt),
          removedAt: null,
        },
      },
      upsert: true,
    },
  };
}

/**
 * Which keys of an archived datum a restore may write back: those no later write overwrote or deleted, or that held
 * it again after their last ending (a replay of its message after a write of another flow or a delete: a generation
 * in `heldKeys` above the ending's). An ending without a generation (archived before generations) is final; so is
 * the deletion of the datum as a whole for a key without an ending of its own.
 */
export function restorableKeys(record: Pick<ArchivedRecord, 'keys' | 'endedKeys' | 'heldKeys' | 'deleted'>): {
  restorable: string[];
  ended: number;
} {
  const ended = record.endedKeys ?? {};
  const held = record.heldKeys ?? {};
  const restorable = record.keys.filter((digest) => {
    const ending = ended[digest];
    if (ending === undefined) return !record.deleted;
    return ending.generation !== undefined && held[digest] !== undefined && held[digest] > ending.generation;
  });
  return { restorable, ended: record.keys.length - restorable.length };
}

/**
 * The fields of an archived datum that re-key reads. `keys` is missing on a document that only records an ending
 * (archive-documents' upsertEnding: the datum itself never reached the archive).
 */
export type RekeyedFields = Pick<
  ArchivedRecord,
  '_id' | 'masks' | 'endedKeys' | 'heldKeys' | 'deleted' | 'expiresAt'
> & {
  keys?: string[];
};

/**
 * The update that moves an archived datum's keys to the newest secret (POST /admin/rekey): each digest with a mask
 * a listed secret opens becomes the newest secret's, in `keys`, `masks` and `endedKeys` alike, and masks of digests
 * the datum names no more are dropped. Null when nothing is to change. `unmovable` counts the keys a restore could
 * still write back (the datum not deleted and not expired at `now`, the key not ended) that have no mask, or a mask
 * no listed secret opens: they stay under their secret, restorable only while it is listed.
 *
 * The update applies only if `keys` is still as read, and touches masks and endings one field path at a time, so an
 * ending another writer adds meanwhile (an archive run, should the re-key's lock lapse) is kept.
 */
export function rekeyWrite(
  record: RekeyedFields,
  digester: Pick<WebhookKeyDigester, 'unmask' | 'newestOf'>,
  now: Date,
): { write: RecordWrite | null; unmovable: number } {
  const keys = record.keys ?? [];
  const masks = record.masks ?? {};
  const ended = record.endedKeys ?? {};
  const held = record.heldKeys ?? {};
  const writtenBack = new Set(restorableKeys({ keys, endedKeys: ended, heldKeys: held, deleted: false }).restorable);
  const restorable =
    !record.deleted && (record.expiresAt === null || record.expiresAt === undefined || record.expiresAt > now);
  const renamed = new Map<string, string>();
  const set: Record<string, unknown> = {};
  const unset: Record<string, ''> = {};
  // Endings and holds moved onto the newest digest keep the latest of each (the newest digest may have its own
  // already: a replay wrote the key under the newest secret after it ended under the older).
  const latest: Record<string, Date | number> = {};
  let unmovable = 0;
  for (const digest of new Set([...keys, ...Object.keys(ended), ...Object.keys(held)])) {
    const mask = masks[digest];
    const unmasked = mask === undefined ? null : digester.unmask(digest, mask);
    if (unmasked === null) {
      if (restorable && writtenBack.has(digest)) unmovable++;
      continue;
    }
    if (unmasked.secretIndex === 0) continue;
    const newest = digester.newestOf(unmasked.keyHash);
    renamed.set(digest, newest.digest);
    unset[`masks.${digest}`] = '';
    set[`masks.${newest.digest}`] = newest.mask;
    if (ended[digest] !== undefined) {
      unset[`endedKeys.${digest}`] = '';
      set[`endedKeys.${newest.digest}.reason`] = ended[digest].reason;
      Object.assign(latest, latestEnding(`endedKeys.${newest.digest}`, ended[digest]));
    }
    if (held[digest] !== undefined) {
      unset[`heldKeys.${digest}`] = '';
      latest[`heldKeys.${newest.digest}`] = held[digest];
    }
  }
  // Masks of digests the datum no longer names (a snapshot replaced `keys` with the digests live now, the newest
  // secret's once the records moved): only an older secret opens them, and they serve nothing.
  const named = new Set([...keys, ...Object.keys(ended)].map((digest) => renamed.get(digest) ?? digest));
  for (const digest of Object.keys(masks)) if (!named.has(digest)) unset[`masks.${digest}`] = '';
  if (renamed.size === 0 && Object.keys(unset).length === 0) return { write: null, unmovable };
  if (record.keys !== undefined && renamed.size > 0) set.keys = keys.map((digest) => renamed.get(digest) ?? digest);
  return {
    write: {
      updateOne: {
        filter: { _id: record._id, keys: record.keys ?? { $exists: false } },
        update: {
          ...(Object.keys(set).length > 0 && { $set: set }),
          ...(Object.keys(latest).length > 0 && { $max: latest }),
          ...(Object.keys(unset).length > 0 && { $unset: unset }),
        },
      },
    },
    unmovable,
  };
}
