import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { KeyLayout } from './key-layout';
import { RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** One message of the dead-letter queue, as the index keeps it (GET /admin/dead-letters shows most of it). */
export interface DeadLetterEntry {
  /** The id POST /v1/records answered: the message's first SQS id, kept through moves and redrives. */
  messageId: string;
  accountId?: string;
  flowId?: string;
  /** The ingest queue's MessageGroupId the message was sent with. */
  groupId: string;
  errorCode: string;
  errorMessage: string;
  /** Unix ms. */
  deadLetteredAt: number;
  receiveCount: number;
  /** When the message was first sent to the ingest queue (Unix ms): with sequenceNumber, its place in its group. */
  sentAt: number;
  sequenceNumber?: string;
  body: string;
}

export interface DeadLetterFilter {
  accountId?: string;
  flowId?: string;
  errorCode?: string;
  /** Only these messages. */
  messageIds?: ReadonlySet<string>;
}

export interface DeadLetterPage {
  items: DeadLetterEntry[];
  nextCursor: string | null;
}

/** Index entries read per round trip while a filtered page is filled. */
const SCAN_PAGE = 200;

/**
 * The dead-letter queue's index: a copy of each message in it, newest first. The DLQ stays the durable copy (see
 * docs/design.md, "Dead letters"); the index is what the admin routes read and filter, because a FIFO queue cannot
 * be listed without taking its messages in flight. The worker adds what it moves; DeadLetterSweeper adds what SQS
 * moved by itself and removes what left the queue behind the service's back.
 */
@Injectable()
export class DeadLetterIndex {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
  ) {}

  /** Adds entries; an entry already indexed is left as it is (the first time it was dead-lettered stands). */
  async add(entries: DeadLetterEntry[]): Promise<void> {
    await Promise.all(
      entries.map((entry) =>
        this.redis
          .multi()
          .set(this.keys.deadLetter(entry.messageId), JSON.stringify(entry), 'NX')
          .zadd(this.keys.deadLetterIndex(), 'NX', entry.deadLetteredAt, entry.messageId)
          .exec(),
      ),
    ).catch(redisUnavailable);
  }

  async remove(messageIds: string[]): Promise<void> {
    await Promise.all(
      messageIds.map((messageId) =>
        this.redis.multi().zrem(this.keys.deadLetterIndex(), messageId).del(this.keys.deadLetter(messageId)).exec(),
      ),
    ).catch(redisUnavailable);
  }

  async get(messageId: string): Promise<DeadLetterEntry | null> {
    const raw = await this.redis.get(this.keys.deadLetter(messageId)).catch(redisUnavailable);
    return raw === null ? null : (JSON.parse(raw) as DeadLetterEntry);
  }

  async has(messageIds: string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const scores = await this.redis.zmscore(this.keys.deadLetterIndex(), ...messageIds).catch(redisUnavailable);
    return new Set(messageIds.filter((_, index) => scores[index] !== null));
  }

  /**
   * One page, newest first, of the entries that match. The cursor is the last entry returned (its time and id):
   * entries indexed after the first page was read are newer, so they never shift a later page.
   */
  async page(filter: DeadLetterFilter, limit: number, cursor: string | null): Promise<DeadLetterPage> {
    const items: DeadLetterEntry[] = [];
    let after = cursor === null ? null : decodeCursor(cursor);
    for (;;) {
      const batch = await this.entriesBefore(after, SCAN_PAGE);
      for (const entry of batch.entries) {
        if (!matches(entry, filter)) continue;
        items.push(entry);
        if (items.length === limit) return { items, nextCursor: encodeCursor(entry) };
      }
      if (batch.last === null) return { items, nextCursor: null };
      after = batch.last;
    }
  }

  /** Every entry that matches, in batches, newest first (a redrive's selection, a sweep's reconciliation). */
  async *all(filter: DeadLetterFilter): AsyncGenerator<DeadLetterEntry[]> {
    let after: Position | null = null;
    for (;;) {
      const batch = await this.entriesBefore(after, SCAN_PAGE);
      const matching = batch.entries.filter((entry) => matches(entry, filter));
      if (matching.length > 0) yield matching;
      if (batch.last === null) return;
      after = batch.last;
    }
  }

  async size(): Promise<number> {
    return this.redis.zcard(this.keys.deadLetterIndex()).catch(redisUnavailable);
  }

  /** When the oldest entry was dead-lettered (Unix ms), or null when the index is empty. */
  async oldest(): Promise<number | null> {
    const [, score] = await this.redis.zrange(this.keys.deadLetterIndex(), 0, 0, 'WITHSCORES').catch(redisUnavailable);
    return score === undefined ? null : Number(score);
  }

  /**
   * Up to `count` entries older than `after` in index order (time descending, then id descending, as ZRANGE REV
   * orders equal scores), and the position of the last one examined: null when the index has no more.
   */
  private async entriesBefore(
    after: Position | null,
    count: number,
  ): Promise<{ entries: DeadLetterEntry[]; last: Position | null }> {
    const max = after === null ? '+inf' : String(after.deadLetteredAt);
    const positions: Position[] = [];
    let offset = 0;
    let exhausted = false;
    while (positions.length < count && !exhausted) {
      const found = await this.redis
        .zrange(this.keys.deadLetterIndex(), max, '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, count, 'WITHSCORES')
        .catch(redisUnavailable);
      for (let index = 0; index < found.length; index += 2) {
        const position = { messageId: found[index], deadLetteredAt: Number(found[index + 1]) };
        // Entries of the cursor's own time are read again; those up to the cursor's id were returned already.
        if (after !== null && position.deadLetteredAt === after.deadLetteredAt && position.messageId >= after.messageId)
          continue;
        positions.push(position);
      }
      exhausted = found.length < count * 2;
      offset += count;
    }
    if (positions.length === 0) return { entries: [], last: null };
    const raw = await this.redis
      .mget(...positions.map(({ messageId }) => this.keys.deadLetter(messageId)))
      .catch(redisUnavailable);
    const entries = raw.flatMap((text) => (text === null ? [] : [JSON.parse(text) as DeadLetterEntry]));
    return { entries, last: exhausted ? null : positions[positions.length - 1] };
  }
}

interface Position {
  deadLetteredAt: number;
  messageId: string;
}

function matches(entry: DeadLetterEntry, filter: DeadLetterFilter): boolean {
  return (
    (filter.accountId === undefined || entry.accountId === filter.accountId) &&
    (filter.flowId === undefined || entry.flowId === filter.flowId) &&
    (filter.errorCode === undefined || entry.errorCode === filter.errorCode) &&
    (filter.messageIds === undefined || filter.messageIds.has(entry.messageId))
  );
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.deadLetteredAt, position.messageId])).toString('base64url');
}

/** A cursor this class did not write is a bad request; the caller turns InvalidCursorError into a 400. */
export class InvalidCursorError extends Error {}

function decodeCursor(cursor: string): Position {
  try {
    const [deadLetteredAt, messageId] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof deadLetteredAt === 'number' && typeof messageId === 'string') return { deadLetteredAt, messageId };
  } catch {
    // falls through to the error below
  }
  throw new InvalidCursorError('cursor is not one this service returned');
}
