import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import { RecordMessage } from '../message/record-message.validation';
import { KeyLayout, WebhookKeyDigester } from './key-layout';
import { renderRecordBody } from './record-body';
import { defineStoreScripts, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** What applying one message did, key by key. */
export interface WriteOutcome {
  applied: number;
  stale: number;
  /** Digests of keys left alone because another account owns them (SPEC §3, KEY_OWNED_BY_OTHER_ACCOUNT). */
  foreign: string[];
}

export interface WriteContext {
  /** Identifies this write's body; the SQS message id, so that a redelivered message replays the same write. */
  datumId: string;
  ttlSeconds: number | null;
  now: number;
}

export type ReadResult =
  | { kind: 'missing' }
  | { kind: 'not-modified'; etag: string }
  | { kind: 'found'; etag: string; body: Buffer };

/** How long a deleted key's tombstone remembers which shared datum it released, for replays of the delete. */
const TOMBSTONE_TTL_MS = 24 * 3600 * 1000;

/**
 * The records of webhook keys, in Redis. Writes apply the ownership rule and the version guard per key inside
 * Redis (apply-record-key.lua); a message's keys are written concurrently, so round trips do not grow with their
 * number. The body of a single-key message is stored in its record (one round trip to read); the body of a
 * multi-key message is stored once, as a datum its records point at (two round trips to read).
 */
@Injectable()
export class RecordStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    private readonly digester: WebhookKeyDigester,
  ) {
    defineStoreScripts(redis);
  }

  async write(message: RecordMessage, context: WriteContext): Promise<WriteOutcome> {
    const digests = message.webhookKeys.map((key) => this.digester.digest(key));
    const expireAt = context.ttlSeconds === null ? 0 : context.now + context.ttlSeconds * 1000;
    const body =
      message.op === 'set'
        ? renderRecordBody({
            accountId: message.accountId,
            flowId: message.flowId,
            data: message.data,
            version: message.version ?? null,
            storedAt: context.now,
            expiresAt: expireAt === 0 ? null : expireAt,
          })
        : null;
    // Measured (bench/memory.ts): a body shared by two keys already costs less than two copies, even for a tiny
    // payload, because a record holding a body over 64 bytes loses Redis's compact hash encoding.
    const shared = body !== null && digests.length > 1;
    if (shared) {
      await this.redis.attachDatum(
        this.keys.datum(context.datumId),
        this.keys.datumRefs(context.datumId),
        body.json,
        String(expireAt),
        ...digests,
      );
    }
    const replies = await Promise.all(
      digests.map((digest) =>
        this.redis.applyRecordKey(
          this.keys.record(digest),
          message.op,
          message.accountId,
          message.version === undefined ? '' : String(message.version),
          context.datumId,
          body?.etag ?? '',
          body !== null && !shared ? body.json : '',
          String(expireAt),
          String(TOMBSTONE_TTL_MS),
        ),
      ),
    );
    return this.settle(replies, digests, shared ? context.datumId : null);
  }

  /** Counts the outcomes and drops references that no longer hold: superseded datums and keys this write lost. */
  private async settle(
    replies: Array<[string, string]>,
    digests: string[],
    sharedDatumId: string | null,
  ): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { applied: 0, stale: 0, foreign: [] };
    const releases = new Map<string, string[]>();
    const release = (datumId: string, digest: string) => {
      const list = releases.get(datumId);
      if (list) list.push(digest);
      else releases.set(datumId, [digest]);
    };
    replies.forEach(([result, released], index) => {
      if (result === 'applied') outcome.applied++;
      else if (result === 'stale') outcome.stale++;
      else outcome.foreign.push(digests[index]);
      if (released !== '') release(released, digests[index]);
      if (result !== 'applied' && sharedDatumId !== null) release(sharedDatumId, digests[index]);
    });
    await Promise.all(
      [...releases].map(([datumId, released]) =>
        this.redis.releaseDatum(this.keys.datum(datumId), this.keys.datumRefs(datumId), ...released),
      ),
    );
    return outcome;
  }

  async read(webhookKey: string, ifNoneMatch?: string): Promise<ReadResult> {
    const [etag, inline, datumId] = await this.redis
      .hmgetBuffer(this.keys.record(this.digester.digest(webhookKey)), 'e', 'b', 'd')
      .catch(redisUnavailable);
    if (etag === null) return { kind: 'missing' };
    const etagText = etag.toString('latin1');
    if (ifNoneMatch !== undefined && etagMatches(ifNoneMatch, etagText)) return { kind: 'not-modified', etag: etagText };
    const body =
      inline ??
      (datumId === null ? null : await this.redis.getBuffer(this.keys.datum(datumId.toString())).catch(redisUnavailable));
    return body === null ? { kind: 'missing' } : { kind: 'found', etag: etagText, body };
  }

  /** Reads many keys in two round trips in all: the records, then the shared bodies they point at. */
  async readMany(webhookKeys: string[]): Promise<Map<string, Buffer>> {
    const records = await Promise.all(
      webhookKeys.map((key) => this.redis.hmgetBuffer(this.keys.record(this.digester.digest(key)), 'e', 'b', 'd')),
    ).catch(redisUnavailable);
    const datumIds = [
      ...new Set(records.flatMap(([etag, inline, datumId]) => (etag && !inline && datumId ? [datumId.toString()] : []))),
    ];
    const datumBodies = await Promise.all(datumIds.map((id) => this.redis.getBuffer(this.keys.datum(id)))).catch(
      redisUnavailable,
    );
    const bodiesById = new Map(datumIds.map((id, index) => [id, datumBodies[index]]));
    const found = new Map<string, Buffer>();
    records.forEach(([etag, inline, datumId], index) => {
      const body = etag === null ? null : (inline ?? bodiesById.get(datumId?.toString() ?? '') ?? null);
      if (body !== null) found.set(webhookKeys[index], body);
    });
    return found;
  }
}

/**
 * If-None-Match holds one or more entity tags, or `*`. Comparison is weak (RFC 9110 §13.1.2): a `W/` prefix is
 * ignored. The exact-match test first keeps the common case (a client echoing our ETag) free of parsing.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag));
}
