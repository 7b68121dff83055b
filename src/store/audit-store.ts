import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { execTransaction, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** One admin change as the audit keeps it (docs/contract.md, "Audit"). */
export interface AuditEntry {
  /** ISO 8601. */
  at: string;
  /** The id of the API key that made the change, never the key. */
  actor: string;
  /** What was done, e.g. `ttl-policy.put`. */
  action: string;
  /** What it was done to, e.g. the route's path. */
  target: string;
  before?: unknown;
  after?: unknown;
}

export interface AuditPage {
  items: AuditEntry[];
  /** Give it back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** How long an entry is kept, and the most entries kept, whichever bound is reached first (both approximate). */
export const AUDIT_RETENTION_DAYS = 30;
export const AUDIT_MAX_ENTRIES = 100_000;
const AUDIT_RETENTION_MS = AUDIT_RETENTION_DAYS * 24 * 60 * 60_000;

/** A stream entry id: the cursor of a page. */
export const AUDIT_CURSOR_PATTERN = /^\d{1,20}-\d{1,20}$/;

/**
 * The audit of admin changes: one Redis stream, so entries are ordered by the Redis time they were added and a page
 * is a range of ids below a cursor. Paging newest first stays stable while entries are added (they only come
 * above the first page) and while old ones are trimmed (they only leave below the last). Every append trims by age
 * and by count, with `~`, which Redis applies a whole macro node at a time: a few more entries may live a little
 * longer, never fewer.
 */
@Injectable()
export class AuditStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  async append(entry: AuditEntry, now = Date.now()): Promise<void> {
    const stream = this.keys.audit();
    await execTransaction(
      this.redis
        .multi()
        .xadd(stream, 'MAXLEN', '~', String(AUDIT_MAX_ENTRIES), '*', 'e', JSON.stringify(entry))
        .xtrim(stream, 'MINID', '~', String(now - AUDIT_RETENTION_MS)),
    );
  }

  /** Every entry, oldest first, `count` at a time, each with its stream id (for the archive). */
  async *scan(count: number): AsyncGenerator<Array<{ id: string; entry: AuditEntry }>> {
    let after = '-';
    for (;;) {
      const found = await this.redis.xrange(this.keys.audit(), after, '+', 'COUNT', count).catch(redisUnavailable);
      if (found.length === 0) return;
      yield found.map(([id, fields]) => ({ id, entry: JSON.parse(fields[1]) as AuditEntry }));
      after = `(${found[found.length - 1][0]}`;
    }
  }

  /** Up to `limit` entries, newest first, older than the entry `cursor` names (from the newest when null). */
  async page(limit: number, cursor: string | null): Promise<AuditPage> {
    const end = streamRangeEnd(cursor);
    if (end === null) return { items: [], nextCursor: null };
    const found = await this.redis.xrevrange(this.keys.audit(), end, '-', 'COUNT', limit + 1).catch(redisUnavailable);
    const items = found.slice(0, limit).map(([, fields]) => JSON.parse(fields[1]) as AuditEntry);
    return { items, nextCursor: found.length > limit ? found[limit - 1][0] : null };
  }
}

const MAX_STREAM_ID_PART = 2n ** 64n - 1n;

/**
 * The exclusive end of a page before `cursor` (a stream id of the cursor pattern), as XREVRANGE takes it; null when
 * nothing can be older (`0-0`). Redis refuses ids beyond 64 bits instead of reading them as the largest: such a
 * cursor is beyond every entry, so the page starts at the newest.
 */
export function streamRangeEnd(cursor: string | null): string | null {
  if (cursor === null) return '+';
  const [milliseconds, sequence] = cursor.split('-').map((part) => BigInt(part));
  if (milliseconds > MAX_STREAM_ID_PART || sequence > MAX_STREAM_ID_PART) return '+';
  if (milliseconds === 0n && sequence === 0n) return null;
  return `(${cursor}`;
}
