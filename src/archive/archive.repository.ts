import { Inject, Injectable } from '@nestjs/common';
import { InjectConnection, InjectModel } from '@nestjs/mongoose';
import { AnyBulkWriteOperation, Connection, ConnectionStates, Model, mongo } from 'mongoose';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RecordWrite, RekeyedFields } from './archive-documents';
import { AuditEntry } from '../store/audit-store';
import {
  ARCHIVED_AUDIT,
  ARCHIVED_POLICY,
  ARCHIVED_RECORD,
  ArchivedAuditEntry,
  ArchivedPolicy,
  ArchivedRecord,
} from './archive.schemas';

/** The driver's collection API, typed with our documents (their `_id` is a string, not an ObjectId). */
type MongoCollection<T extends mongo.Document> = mongo.Collection<T>;

/** Documents a cursor fetches per round trip when walking the archive. */
const CURSOR_BATCH = 500;
/** Policy ids per removal update. */
const REMOVAL_BATCH = 500;

/** Everything the service does with MongoDB, and nothing else does. */
@Injectable()
export class ArchiveRepository {
  constructor(
    @InjectConnection() private readonly connection: Connection,
    @InjectModel(ARCHIVED_RECORD) private readonly records: Model<ArchivedRecord>,
    @InjectModel(ARCHIVED_POLICY) private readonly policies: Model<ArchivedPolicy>,
    @InjectModel(ARCHIVED_AUDIT) private readonly audit: Model<ArchivedAuditEntry>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Makes sure the connection is open, reopening it when an earlier attempt failed (the service starts, and keeps
   * serving, while MongoDB is down), and that the collections have their indexes.
   */
  async prepare(): Promise<void> {
    if (this.connection.readyState === ConnectionStates.connecting) await this.connection.asPromise();
    if (this.connection.readyState !== ConnectionStates.connected) {
      // openUri builds a new driver client without closing the previous one, whose monitor would go on
      // reconnecting for the life of the process: close it first.
      await this.connection.close().catch(() => undefined);
      await this.connection.openUri(this.config.mongodbUri ?? '');
    }
    await Promise.all([this.records.createIndexes(), this.policies.createIndexes()]);
  }

  async ping(): Promise<void> {
    const db = this.connection.db;
    if (this.connection.readyState !== ConnectionStates.connected || db === undefined) {
      throw new Error(`not connected (${ConnectionStates[this.connection.readyState]})`);
    }
    await db.admin().ping();
  }

  /**
   * Returns how many archived records the writes created or changed. Sent through the driver's collection, not
   * Model.bulkWrite: the documents come fully typed from archive-documents.ts, and mongoose's casting of every
   * operation was an eighth of a run's CPU (npm run bench:archive: 11.2k → 15.0k records/s without it).
   */
  async writeRecords(writes: RecordWrite[]): Promise<number> {
    if (writes.length === 0) return 0;
    const collection = this.records.collection as unknown as MongoCollection<ArchivedRecord>;
    const result = await collection.bulkWrite(writes, { ordered: false });
    return result.upsertedCount + result.modifiedCount;
  }

  /**
   * Copies audit entries, each once: an entry never changes, so one already archived is left as it is. Returns how
   * many were new.
   */
  async writeAuditEntries(entries: Array<{ id: string; entry: AuditEntry }>): Promise<number> {
    if (entries.length === 0) return 0;
    const result = await this.audit.bulkWrite(
      entries.map(({ id, entry }) => ({
        updateOne: {
          filter: { _id: id },
          update: { $setOnInsert: { ...entry, at: new Date(entry.at) } },
          upsert: true,
        },
      })),
      { ordered: false },
    );
    return result.upsertedCount;
  }

  /** Returns how many archived policies the writes created or changed. */
  async writePolicies(writes: AnyBulkWriteOperation<ArchivedPolicy>[]): Promise<number> {
    if (writes.length === 0) return 0;
    const result = await this.policies.bulkWrite(writes, { ordered: false });
    return result.upsertedCount + result.modifiedCount;
  }

  /**
   * Marks archived policies that are no longer in Redis as removed, so a restore does not bring them back. Walks the
   * archived ones with a cursor and marks the missing ones REMOVAL_BATCH ids at a time: one command naming every
   * policy id could outgrow MongoDB's 16 MiB command limit.
   */
  async markPoliciesRemoved(present: ReadonlySet<string>, at: Date): Promise<void> {
    let missing: string[] = [];
    const mark = async () => {
      if (missing.length === 0) return;
      await this.policies.updateMany({ _id: { $in: missing }, removedAt: null }, { $set: { removedAt: at } });
      missing = [];
    };
    const archived = this.policies
      .find({ removedAt: null }, { _id: 1 })
      .batchSize(CURSOR_BATCH)
      .lean<{ _id: string }>();
    for await (const { _id } of archived.cursor()) {
      if (present.has(_id)) continue;
      missing.push(_id);
      if (missing.length >= REMOVAL_BATCH) await mark();
    }
    await mark();
  }

  /** Removes every archived record and policy of an account (its erasure); returns how many of each. */
  async eraseAccount(accountId: string): Promise<{ records: number; policies: number }> {
    const [records, policies] = await Promise.all([
      this.records.deleteMany({ accountId }),
      this.policies.deleteMany({ accountId }),
    ]);
    return { records: records.deletedCount, policies: policies.deletedCount };
  }

  /** Every archived datum's keys, masks, endings and holds (what re-key reads), in batches. */
  rekeyedFields$(): AsyncIterable<RekeyedFields> {
    return this.records
      .find({}, { keys: 1, masks: 1, endedKeys: 1, heldKeys: 1, deleted: 1, expiresAt: 1 })
      .batchSize(CURSOR_BATCH)
      .lean<RekeyedFields>()
      .cursor();
  }

  /**
   * Drops records deleted, replaced or expired before `cutoff`, and endings whose datum never reached the archive
   * (archive-documents.ts, upsertEnding) first archived before it; returns how many.
   */
  async prune(cutoff: Date): Promise<number> {
    const result = await this.records.deleteMany({
      $or: [
        { deletedAt: { $lt: cutoff } },
        { replacedAt: { $lt: cutoff } },
        { expiresAt: { $lt: cutoff } },
        { body: { $exists: false }, firstArchivedAt: { $lt: cutoff } },
      ],
    });
    return result.deletedCount;
  }

  /**
   * Archived records of an account and flow (or all), newest first, streamed in batches. Only whole datums: not an
   * ending whose datum has not reached the archive (no `body`).
   */
  records$(filter: { accountId?: string; flowId?: string }): AsyncIterable<ArchivedRecord> {
    // Only the fields that are set: the driver would send an undefined field as null, matching nothing.
    const query = {
      body: { $exists: true },
      ...(filter.accountId !== undefined && { accountId: filter.accountId }),
      ...(filter.flowId !== undefined && { flowId: filter.flowId }),
    };
    return this.records.find(query).sort({ storedAt: -1 }).batchSize(CURSOR_BATCH).lean<ArchivedRecord>().cursor();
  }

  /** Archived policies not removed since: all, an account's, or an account's own and one flow's. */
  policies$(filter: { accountId?: string; flowId?: string }): AsyncIterable<ArchivedPolicy> {
    return this.policies
      .find({
        removedAt: null,
        ...(filter.accountId !== undefined && { accountId: filter.accountId }),
        ...(filter.flowId !== undefined && { flowId: { $in: [null, filter.flowId] } }),
      })
      .batchSize(CURSOR_BATCH)
      .lean<ArchivedPolicy>()
      .cursor();
  }
}
