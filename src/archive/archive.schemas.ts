import { Schema } from 'mongoose';

/**
 * When and why a key stopped holding a datum. `generation`: the key's generation (apply-record-keys.lua's `g`) at
 * the write that ended it, which orders it against `heldKeys`; absent on endings archived before generations, which
 * are final.
 */
export type KeyEnding = { at: Date; reason: 'replaced' | 'deleted'; generation?: number };

/**
 * One datum in the archive (collection `archived_records`): what one write stored, with the digests of the keys
 * it was stored under (never a key in clear) and, per key, when and why the key stopped holding it.
 */
export interface ArchivedRecord {
  /** The datum id: the message id of the write. */
  _id: string;
  accountId: string;
  flowId: string;
  version: number | null;
  storedAt: Date;
  expiresAt: Date | null;
  /** The exact JSON document reads returned, kept as text so a restore gives back the same bytes. */
  body: string;
  keys: string[];
  /**
   * digest → the key's mask (`h` of its record in Redis, WebhookKeyDigester): what the re-key job moves the
   * document's keys to the newest secret by. Written by every run's snapshot; absent for a key never snapshotted.
   */
  masks?: Record<string, string>;
  /**
   * digest → when the key was overwritten by a later write or deleted: the latest such time the archive learned of
   * (`$max`: the journal's shards are copied in any order).
   */
  endedKeys?: Record<string, KeyEnding>;
  /**
   * digest → the latest generation (apply-record-keys.lua's `g`, Redis time in µs growing per key) at which a
   * journaled write put the key on this datum (`$max`), also a replay that wrote it again after a later write of
   * another flow or a delete had ended it: a key whose ending has a lower generation holds the datum again, and
   * restore writes it back. Generations order a key's writes as Redis applied them, whatever the workers' clocks.
   */
  heldKeys?: Record<string, number>;
  /** Set when a delete removed the datum's last key. */
  deleted: boolean;
  deletedAt: Date | null;
  /** Set when later writes replaced the datum under every one of its keys. */
  replacedAt: Date | null;
  firstArchivedAt: Date;
}

/** One TTL policy in the archive (collection `archived_ttl_policies`); _id is `accountId` or `accountId/flowId`. */
export interface ArchivedPolicy {
  _id: string;
  accountId: string;
  flowId: string | null;
  ttlSeconds: number | null;
  updatedAt: Date;
  /** Set when a run no longer found the policy in Redis: it was deleted, and is not restored. */
  removedAt: Date | null;
}

/** One audit entry in the archive (collection `archived_audit`); _id is its Redis stream id. Kept for ever. */
export interface ArchivedAuditEntry {
  _id: string;
  at: Date;
  actor: string;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export const ARCHIVED_RECORD = 'ArchivedRecord';
export const ARCHIVED_POLICY = 'ArchivedPolicy';
export const ARCHIVED_AUDIT = 'ArchivedAuditEntry';

// Indexes are created by each run (ensureIndexes), not at start-up: the service starts while MongoDB is down.
const options = { versionKey: false, autoIndex: false, autoCreate: false, minimize: false } as const;

export const ArchivedRecordSchema = new Schema<ArchivedRecord>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    flowId: { type: String, required: true },
    version: { type: Number, default: null },
    storedAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
    body: { type: String, required: true },
    keys: { type: [String], required: true },
    masks: { type: Schema.Types.Mixed, default: undefined },
    endedKeys: { type: Schema.Types.Mixed, default: undefined },
    heldKeys: { type: Schema.Types.Mixed, default: undefined },
    deleted: { type: Boolean, default: false },
    deletedAt: { type: Date, default: null },
    replacedAt: { type: Date, default: null },
    firstArchivedAt: { type: Date, required: true },
  },
  { ...options, collection: 'archived_records' },
);
// Restore walks an account/flow newest first; retention finds what ended or expired long ago.
ArchivedRecordSchema.index({ accountId: 1, flowId: 1, storedAt: -1 });
ArchivedRecordSchema.index({ storedAt: -1 });
ArchivedRecordSchema.index({ deletedAt: 1 });
ArchivedRecordSchema.index({ replacedAt: 1 });
ArchivedRecordSchema.index({ expiresAt: 1 });

export const ArchivedPolicySchema = new Schema<ArchivedPolicy>(
  {
    _id: { type: String, required: true },
    accountId: { type: String, required: true },
    flowId: { type: String, default: null },
    ttlSeconds: { type: Number, default: null },
    updatedAt: { type: Date, required: true },
    removedAt: { type: Date, default: null },
  },
  { ...options, collection: 'archived_ttl_policies' },
);

export const ArchivedAuditEntrySchema = new Schema<ArchivedAuditEntry>(
  {
    _id: { type: String, required: true },
    at: { type: Date, required: true },
    actor: { type: String, required: true },
    action: { type: String, required: true },
    target: { type: String, required: true },
    before: { type: Schema.Types.Mixed, default: undefined },
    after: { type: Schema.Types.Mixed, default: undefined },
  },
  { ...options, collection: 'archived_audit' },
);
