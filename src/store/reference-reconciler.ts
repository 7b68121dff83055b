import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { KeyLayout } from './key-layout';
import { REFERENCE_GRACE_MS } from './record-store';
import { defineStoreScripts, RedisClient, scanKeys } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** What one pass repaired. */
export interface ReconcileReport {
  /** Shared bodies whose references were checked. */
  datumsChecked: number;
  /** Attachments no key held (a worker died between apply and release), removed. */
  unheldAttachments: number;
  /** Shared bodies freed because their last attachment was one of those. */
  datumsFreed: number;
  /** Records pointing at a shared body that no longer exists, deleted (none should ever be found). */
  danglingRecords: number;
}

const LOCK_TTL_MS = 30_000;
const LOCK_RENEWAL_MS = 10_000;

/** Keys scanned per SCAN page. */
const SCAN_COUNT = 500;

/**
 * Repairs what a crash between two steps of a write can leave (see RecordStore): attachments of a shared body that
 * no key holds, which would keep the body alive forever when it has no TTL. It walks every references hash (SCAN
 * on every master) and removes attachments older than `graceMs` whose key does not point at the body under that
 * token; the apply script never uses an attachment that old, so a removal cannot race an attempt in progress. It
 * also deletes any record left pointing at a missing body, which the write protocol should make impossible, and
 * counts it: a non-zero count is a bug to report.
 */
@Injectable()
export class ReferenceReconciler {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {
    defineStoreScripts(redis);
  }

  /**
   * One pass, on the one instance that takes the reconcile lock (renewed while the pass runs); null when another
   * instance holds it.
   */
  async reconcileExclusively(): Promise<ReconcileReport | null> {
    const owner = randomUUID();
    const lock = this.keys.reconcileLock();
    const held = await this.redis.acquireLock(lock, owner, String(LOCK_TTL_MS)).catch(redisUnavailable);
    if (held !== 1) return null;
    const renewal = setInterval(
      () => void this.redis.acquireLock(lock, owner, String(LOCK_TTL_MS)).catch(() => 0),
      LOCK_RENEWAL_MS,
    );
    try {
      return await this.reconcile();
    } finally {
      clearInterval(renewal);
      await this.redis.releaseLock(lock, owner).catch(() => 0);
    }
  }

  async reconcile(graceMs = REFERENCE_GRACE_MS): Promise<ReconcileReport> {
    const report: ReconcileReport = { datumsChecked: 0, unheldAttachments: 0, datumsFreed: 0, danglingRecords: 0 };
    try {
      for await (const found of scanKeys(this.redis, this.keys.everything(), SCAN_COUNT)) {
        await Promise.all(found.map((key) => this.check(key, graceMs, report)));
      }
    } catch (error) {
      redisUnavailable(error);
    }
    return report;
  }

  private async check(key: string, graceMs: number, report: ReconcileReport): Promise<void> {
    const datumId = this.keys.datumIdOfRefs(key);
    if (datumId !== null) return this.checkAttachments(datumId, graceMs, report);
    if (this.keys.digestOfRecord(key) !== null) return this.checkRecord(key, report);
  }

  private async checkAttachments(datumId: string, graceMs: number, report: ReconcileReport): Promise<void> {
    report.datumsChecked++;
    const attachments = await this.redis.hgetall(this.keys.datumRefs(datumId));
    const oldEnough = Object.entries(attachments).filter(
      ([field, attachedAt]) => field.includes('|') && Date.now() - Number(attachedAt) >= graceMs,
    );
    const unheld = (
      await Promise.all(
        oldEnough.map(async ([field]) => {
          const [digest, token] = field.split('|');
          const [held, heldToken] = await this.redis.hmget(this.keys.record(digest), 'd', 't');
          return held === datumId && heldToken === token ? null : field;
        }),
      )
    ).filter((field): field is string => field !== null);
    if (unheld.length === 0) return;
    report.unheldAttachments += unheld.length;
    const freed = await this.redis.releaseDatum(this.keys.datum(datumId), this.keys.datumRefs(datumId), ...unheld);
    report.datumsFreed += freed;
  }

  private async checkRecord(record: string, report: ReconcileReport): Promise<void> {
    const [datumId, token] = await this.redis.hmget(record, 'd', 't');
    if (datumId === null || token === null) return;
    if ((await this.redis.exists(this.keys.datum(datumId))) === 1) return;
    report.danglingRecords += await this.redis.forgetDanglingRecord(record, datumId, token);
  }
}
