import { Injectable, Logger } from '@nestjs/common';
import { RecordStore } from '../store/record-store';
import { TtlPolicyStore } from '../store/ttl-policy-store';
import { restorableKeys } from './archive-documents';
import { ArchiveRepository } from './archive.repository';

export interface RestoreFilter {
  accountId?: string;
  flowId?: string;
}

/** What a restore did. Counts are webhook keys, except policiesRestored. */
export interface RestoreCounts {
  restored: number;
  skippedExpired: number;
  skippedNewer: number;
  skippedDeleted: number;
  policiesRestored: number;
}

/**
 * Writes archived data back to Redis: every datum that has not expired and was not deleted, under the keys no
 * later write overwrote or deleted, with its remaining TTL (its original expiry instant), only where the key is
 * absent or holds an older version of the same account; and every archived TTL policy that Redis lacks.
 *
 * Datums are walked newest first and one at a time, so that for data without versions the newest archived datum
 * of a key is the one that lands, and the older ones find the key taken.
 */
@Injectable()
export class ArchiveRestorer {
  private readonly logger = new Logger(ArchiveRestorer.name);

  constructor(
    private readonly archive: ArchiveRepository,
    private readonly records: RecordStore,
    private readonly policies: TtlPolicyStore,
  ) {}

  async restore(filter: RestoreFilter): Promise<RestoreCounts> {
    await this.archive.prepare();
    const counts: RestoreCounts = {
      restored: 0,
      skippedExpired: 0,
      skippedNewer: 0,
      skippedDeleted: 0,
      policiesRestored: 0,
    };
    const now = Date.now();
    for await (const record of this.archive.records$(filter)) {
      if (record.expiresAt !== null && record.expiresAt.getTime() <= now) {
        counts.skippedExpired += record.keys.length;
        continue;
      }
      // A deleted datum too: a key that held it again after the delete (a replay of its message) is written back.
      const { restorable, ended } = restorableKeys(record);
      counts.skippedDeleted += ended;
      if (restorable.length === 0) continue;
      const outcome = await this.records.restore({
        datumId: record._id,
        accountId: record.accountId,
        version: record.version,
        body: record.body,
        digests: restorable,
        masks: restorable.map((digest) => record.masks?.[digest] ?? ''),
        expiresAt: record.expiresAt === null ? null : record.expiresAt.getTime(),
        storedAt: record.storedAt.getTime(),
      });
      counts.restored += outcome.restored;
      counts.skippedNewer += outcome.kept;
      counts.skippedDeleted += outcome.deleted;
    }
    for await (const policy of this.archive.policies$(filter)) {
      const restored = await this.policies.putIfAbsent({
        accountId: policy.accountId,
        flowId: policy.flowId,
        ttlSeconds: policy.ttlSeconds,
        updatedAt: policy.updatedAt.toISOString(),
      });
      if (restored) counts.policiesRestored++;
    }
    this.logger.log(`restore ${JSON.stringify(filter)}: ${JSON.stringify(counts)}`);
    return counts;
  }
}
