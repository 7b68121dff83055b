import { InjectRedis } from '@nestjs-modules/ioredis';
import { Injectable } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import { RecordMessage } from '../message/record-message.validation';
import { JournalKey, JournalStore } from './journal-store';
import { KeyLayout, WebhookKeyDigester } from './key-layout';
import { etagOf, RecordBody, renderRecordBody } from './record-body';
import { applyRecordKeys, defineStoreScripts, RedisClient, scanKeys } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** What applying one message did, key by key. */
export interface WriteOutcome {
  applied: number;
  stale: number;
  /** Digests of keys left alone because another account owns them (SPEC §3, KEY_OWNED_BY_OTHER_ACCOUNT). */
  foreign: string[];
  /** Older journal entries the journal's cap dropped before the archive copied them (0 normally). */
  journalTrimmed: number;
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

/** A datum as Redis holds it now, for the archive's snapshot. */
export interface StoredDatum {
  datumId: string;
  /** The JSON document a read returns. */
  body: string;
  /** Digests of the keys pointing at it. */
  digests: string[];
  expiresAt: number | null;
}

/** An archived datum to write back under the keys that still held it. */
export interface DatumToRestore {
  datumId: string;
  accountId: string;
  version: number | null;
  body: string;
  digests: string[];
  expiresAt: number | null;
}

/** How long a deleted key's tombstone remembers which shared datum it released, for replays of the delete. */
const TOMBSTONE_TTL_MS = 24 * 3600 * 1000;

/**
 * The most keys one call of apply-record-keys.lua applies. Redis serves nothing else while a script runs, about 5 µs
 * per key (Redis 7.0, measured with SLOWLOG): 100 keys hold it for about 0.5 ms, where a message of 1,000 keys (the
 * most SPEC §3 allows) in one call would stall every read behind it for 5 ms. A call's fixed cost in Redis is about
 * 12 µs, a few keys' worth, so at 100 keys it is already down to 2–3 % of the call: larger chunks would gain little.
 */
const KEYS_PER_SCRIPT_CALL = 100;

type KeyOp = 'set' | 'delete' | 'restore';

/** What apply-record-keys.lua reports for one key: outcome, released datum, previous datum, previous was inline. */
type KeyReply = [string, string, string, string];

interface KeyWrite {
  op: KeyOp;
  accountId: string;
  version: number | null;
  datumId: string;
  body: RecordBody | null;
  digests: string[];
  /** Unix ms, 0 for none. */
  expireAt: number;
}

interface KeysApplied {
  applied: JournalKey[];
  stale: number;
  foreign: string[];
  /** Datums no key points at any more after this write. */
  ended: string[];
}

/**
 * The records of webhook keys, in Redis. Writes apply the ownership rule and the version guard per key inside
 * Redis (apply-record-keys.lua), one script call for many keys (a message's keys on a single server, those of one
 * hash slot on a cluster); the calls of a message go out concurrently, so round trips do not grow with the number
 * of keys. The body of a single-key message is stored in its record (one round trip to read); the body of a
 * multi-key message is stored once, as a datum its records point at (two round trips to read).
 */
@Injectable()
export class RecordStore {
  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    private readonly digester: WebhookKeyDigester,
    private readonly journal: JournalStore,
  ) {
    defineStoreScripts(redis);
  }

  async write(message: RecordMessage, context: WriteContext): Promise<WriteOutcome> {
    const expireAt = context.ttlSeconds === null ? 0 : context.now + context.ttlSeconds * 1000;
    const version = message.version ?? null;
    const body =
      message.op === 'set'
        ? renderRecordBody({
            accountId: message.accountId,
            flowId: message.flowId,
            dataJson: message.dataJson as string,
            version,
            storedAt: context.now,
            expiresAt: expireAt === 0 ? null : expireAt,
          })
        : null;
    const outcome = await this.applyToKeys({
      op: message.op,
      accountId: message.accountId,
      version,
      datumId: context.datumId,
      body,
      digests: message.webhookKeys.map((key) => this.digester.digest(key)),
      expireAt,
    });
    const journalTrimmed =
      outcome.applied.length === 0
        ? 0
        : await this.journal.append({
            op: message.op,
            datumId: context.datumId,
            accountId: message.accountId,
            flowId: message.flowId,
            version,
            at: context.now,
            expiresAt: expireAt === 0 ? null : expireAt,
            keys: outcome.applied,
            ended: outcome.ended,
            body: body?.json ?? null,
          });
    return { applied: outcome.applied.length, stale: outcome.stale, foreign: outcome.foreign, journalTrimmed };
  }

  /**
   * Writes an archived datum back under its keys, keeping its expiry, but only where a key is absent or holds
   * an older version of the same account; returns how many keys were written and how many were left as they were.
   */
  async restore(datum: DatumToRestore): Promise<{ restored: number; kept: number }> {
    const outcome = await this.applyToKeys({
      op: 'restore',
      accountId: datum.accountId,
      version: datum.version,
      datumId: datum.datumId,
      body: { json: datum.body, etag: etagOf(datum.body) },
      digests: datum.digests,
      expireAt: datum.expiresAt ?? 0,
    });
    return { restored: outcome.applied.length, kept: outcome.stale + outcome.foreign.length };
  }

  private async applyToKeys(write: KeyWrite): Promise<KeysApplied> {
    const shared = write.body !== null && write.digests.length > 1;
    if (shared) {
      await this.redis.attachDatum(
        this.keys.datum(write.datumId),
        this.keys.datumRefs(write.datumId),
        write.body?.json ?? '',
        String(write.expireAt),
        ...write.digests,
      );
    }
    const args = [
      write.op,
      write.accountId,
      write.version === null ? '' : String(write.version),
      write.datumId,
      write.body?.etag ?? '',
      write.body !== null && !shared ? write.body.json : '',
      String(write.expireAt),
      String(TOMBSTONE_TTL_MS),
    ];
    const records = write.digests.map((digest) => this.keys.record(digest));
    const groups = this.scriptCalls(records);
    const groupReplies = await Promise.all(
      groups.map((positions) => applyRecordKeys(this.redis, positions.map((position) => records[position]), args)),
    );
    const replies = new Array<KeyReply>(records.length);
    groups.forEach((positions, group) => {
      const flat = groupReplies[group];
      positions.forEach((position, index) => {
        replies[position] = [flat[index * 4], flat[index * 4 + 1], flat[index * 4 + 2], flat[index * 4 + 3]];
      });
    });
    return this.settle(replies, write.digests, shared ? write.datumId : null, write.datumId);
  }

  /**
   * Splits a message's records into the calls of apply-record-keys.lua, as lists of positions in `records`: on a
   * cluster one call per hash slot (a script may only touch keys of one slot), on a single server one call for all;
   * either way at most KEYS_PER_SCRIPT_CALL keys per call.
   */
  private scriptCalls(records: string[]): number[][] {
    const bySlot = new Map<number, number[]>();
    const cluster = this.redis instanceof Cluster;
    records.forEach((record, position) => {
      const slot = cluster ? calculateSlot(record) : 0;
      const positions = bySlot.get(slot);
      if (positions) positions.push(position);
      else bySlot.set(slot, [position]);
    });
    const calls: number[][] = [];
    for (const positions of bySlot.values()) {
      for (let start = 0; start < positions.length; start += KEYS_PER_SCRIPT_CALL) {
        calls.push(positions.slice(start, start + KEYS_PER_SCRIPT_CALL));
      }
    }
    return calls;
  }

  /** Counts the outcomes and drops references that no longer hold: superseded datums and keys this write lost. */
  private async settle(
    replies: KeyReply[],
    digests: string[],
    sharedDatumId: string | null,
    datumId: string,
  ): Promise<KeysApplied> {
    const outcome: KeysApplied = { applied: [], stale: 0, foreign: [], ended: [] };
    const releases = new Map<string, string[]>();
    const release = (releasedId: string, digest: string) => {
      const list = releases.get(releasedId);
      if (list) list.push(digest);
      else releases.set(releasedId, [digest]);
    };
    replies.forEach(([result, released, previous, previousInline], index) => {
      if (result === 'applied') outcome.applied.push({ digest: digests[index], previous });
      else if (result === 'stale') outcome.stale++;
      else outcome.foreign.push(digests[index]);
      if (released !== '') release(released, digests[index]);
      if (result !== 'applied' && sharedDatumId !== null) release(sharedDatumId, digests[index]);
      if (previousInline === '1') outcome.ended.push(previous);
    });
    const released = [...releases];
    const freed = await Promise.all(
      released.map(([releasedId, keys]) =>
        this.redis.releaseDatum(this.keys.datum(releasedId), this.keys.datumRefs(releasedId), ...keys),
      ),
    );
    released.forEach(([releasedId], index) => {
      if (freed[index] === 1 && releasedId !== datumId) outcome.ended.push(releasedId);
    });
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

  /**
   * Every datum Redis holds now, in batches: SCAN (on every master of a cluster) picks the records that hold their
   * body and the shared bodies, then one pipelined round of reads per batch fetches body, keys and expiry. Never
   * holds more than one batch, whatever the size of the keyspace.
   */
  async *scanDatums(count: number): AsyncGenerator<StoredDatum[]> {
    for await (const found of scanKeys(this.redis, this.keys.everything(), count)) {
      const datums = (await Promise.all(found.map((key) => this.readDatum(key)))).filter(
        (datum): datum is StoredDatum => datum !== null,
      );
      if (datums.length > 0) yield datums;
    }
  }

  /** The datum behind a scanned key: a record holding its body inline, or a shared body; null for anything else. */
  private async readDatum(key: string): Promise<StoredDatum | null> {
    const digest = this.keys.digestOfRecord(key);
    if (digest !== null) {
      const [[owner, datumId, body], expireTime] = await Promise.all([
        this.redis.hmget(key, 'a', 'd', 'b'),
        this.redis.pexpiretime(key),
      ]);
      if (owner === null || datumId === null || body === null || expireTime === -2) return null;
      return { datumId, body, digests: [digest], expiresAt: expireTime === -1 ? null : expireTime };
    }
    const datumId = this.keys.datumIdOf(key);
    if (datumId === null) return null;
    const [body, digests, expireTime] = await Promise.all([
      this.redis.get(key),
      this.redis.hkeys(this.keys.datumRefs(datumId)),
      this.redis.pexpiretime(key),
    ]);
    if (body === null || digests.length === 0 || expireTime === -2) return null;
    return { datumId, body, digests, expiresAt: expireTime === -1 ? null : expireTime };
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
