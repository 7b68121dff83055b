import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { withoutWebhookKeys } from './dead-letter-body';
import { KeyLayout } from './key-layout';
import { execTransaction, RedisClient } from './redis-client';
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
  /**
   * When the message was first sent to the ingest queue (Unix ms): with sequenceNumber, its place in its group;
   * null when unknown (SQS moved it to the dead-letter queue itself).
   */
  sentAt: number | null;
  sequenceNumber?: string;
  body: string;
}

/** An entry without its body: what filtering, selecting and sweeping read, so that none of them loads bodies. */
export type DeadLetterSummary = Omit<DeadLetterEntry, 'body'>;

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
      entries.map(({ body, ...summary }) =>
        execTransaction(
          this.redis
            .multi()
            .set(this.keys.deadLetter(summary.messageId), JSON.stringify(summary), 'NX')
            .set(this.keys.deadLetterBody(summary.messageId), withoutWebhookKeys(body), 'NX')
            .zadd(this.keys.deadLetterIndex(), 'NX', summary.deadLetteredAt, summary.messageId),
        ),
      ),
    ).catch(redisUnavailable);
  }

  async remove(messageIds: string[]): Promise<void> {
    await Promise.all(
      messageIds.map((messageId) =>
        execTransaction(
          this.redis
            .multi()
            .zrem(this.keys.deadLetterIndex(), messageId)
            .del(this.keys.deadLetter(messageId), this.keys.deadLetterBody(messageId)),
        ),
      ),
    ).catch(redisUnavailable);
  }

  async get(messageId: string): Promise<DeadLetterEntry | null> {
    const [summary, body] = await this.redis
      .mget(this.keys.deadLetter(messageId), this.keys.deadLetterBody(messageId))
      .catch(redisUnavailable);
    return summary === null ? null : { ...(JSON.parse(summary) as DeadLetterSummary), body: body ?? '' };
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
    const found: DeadLetterSummary[] = [];
    let after = cursor === null ? null : decodeCursor(cursor);
    let nextCursor: string | null = null;
    while (nextCursor === null) {
      const batch = await this.entriesBefore(after, SCAN_PAGE);
      for (const entry of batch.entries) {
        if (!matches(entry, filter)) continue;
        found.push(entry);
        if (found.length === limit) {
          nextCursor = encodeCursor(entry);
          break;
        }
      }
      if (batch.last === null) break;
      after = batch.last;
    }
    return { items: await this.withBodies(found), nextCursor };
  }

  /** Bodies are read for the page only: a dead letter may hold 256 KiB. */
  private async withBodies(summaries: DeadLetterSummary[]): Promise<DeadLetterEntry[]> {
    if (summaries.length === 0) return [];
    const bodies = await this.redis
      .mget(...summaries.map(({ messageId }) => this.keys.deadLetterBody(messageId)))
      .catch(redisUnavailable);
    return summaries.map((summary, index) => ({ ...summary, body: bodies[index] ?? '' }));
  }

  /** Every entry that matches, without bodies, in batches, newest first (a redrive's selection, a sweep). */
  async *all(filter: DeadLetterFilter): AsyncGenerator<DeadLetterSummary[]> {
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
  ): Promise<{ entries: DeadLetterSummary[]; last: Position | null }> {
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
    const entries = raw.flatMap((text) => (text === null ? [] : [JSON.parse(text) as DeadLetterSummary]));
    return { entries, last: exhausted ? null : positions[positions.length - 1] };
  }
}

interface Position {
  deadLetteredAt: number;
  messageId: string;
}

function matches(entry: DeadLetterSummary, filter: DeadLetterFilter): boolean {
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
