import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Result } from 'ioredis';
import type { ClientContext } from 'ioredis/built/utils/RedisCommander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { InvalidationChannel } from './invalidation-channel';
import { KeyLayout, WebhookKeyDigester } from './key-layout';
import { ReadCache } from './read-cache';
import { expiryOfBody } from './record-body';
import { RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

export type ReadResult =
  { kind: 'missing' } | { kind: 'not-modified'; etag: string } | { kind: 'found'; etag: string; body: Buffer };

export interface FoundRecord {
  etag: string;
  body: Buffer;
}

/** A record hash as a read needs it: its ETag, and its body or the shared body it points at. */
interface CachedRecord {
  etag: string;
  inline: Buffer | null;
  datumId: string | null;
  /** Unix ms, null for never; known only for a body held inline (a shared body carries its own). */
  expireAt: number | null;
}

/** A record as a read got it, with its shared body when the same round trip read that too (null: it is gone). */
interface RecordRead {
  record: CachedRecord;
  sharedBody?: Buffer | null;
}

interface CachedBody {
  body: Buffer;
  expireAt: number | null;
}

/**
 * The record key of a webhook key the cache answered: with it a hit skips the key's digest (a SHA-256 and an HMAC,
 * about 14 µs of a hot read's ~90 µs of CPU before, bench/RESULTS.md). A pure function of the key and the secret, so
 * nothing invalidates it; it is cached under RECORD_KEY_MEMO + the webhook key, which no Redis key of the channel's
 * prefixes can be.
 */
interface RememberedRecordKey {
  recordKey: string;
  expireAt: null;
}

type CacheEntry = CachedRecord | CachedBody | RememberedRecordKey;

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext> {
    /** read-record.lua: the record's ETag, inline body and datum id, then the shared body (see the script). */
    readRecordBuffer(record: string, datumKeyHead: string, datumKeyTail: string): Result<(Buffer | null)[], Context>;
  }
}

const READ_RECORD_LUA = readFileSync(join(__dirname, 'lua', 'read-record.lua'), 'utf8');

/** A reader waiting for keys to change (RecordReader.watch). */
export interface KeyWatcher {
  keysChanged(): void;
}

/** Starts the cache key of a RememberedRecordKey: a NUL, which no webhook key (printable ASCII) nor prefix holds. */
const RECORD_KEY_MEMO = '\0';

/**
 * The read side of the records: GET /v1/data and batch-get, through an in-process cache of record hashes and
 * shared bodies (READ_CACHE_MAX_BYTES) that Redis keeps coherent (InvalidationChannel), and the wake-ups of readers
 * waiting for a key to change, which the same invalidations drive.
 *
 * Expiry: Redis reports a key's expiry when it deletes the key, which for a key nobody touches may be later than
 * its time; a cached entry past its expiry is therefore never served, whatever Redis has reported.
 */
@Injectable()
export class RecordReader implements OnApplicationShutdown {
  private readonly cache: ReadCache<CacheEntry>;
  /** Record key → the reader, or readers, waiting for it to change. */
  private readonly watchers = new Map<string, KeyWatcher | Set<KeyWatcher>>();
  private channel: InvalidationChannel | null = null;
  /**
   * On a single server, a record and its shared body are read in one round trip (read-record.lua): the shared
   * body's key, split around the datum id, as KeyLayout.datum writes it. Null on a cluster, where the body lives in
   * another hash slot than the record and no script can read both.
   */
  private readonly datumKeyAround: [string, string] | null;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    private readonly digester: WebhookKeyDigester,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new ReadCache<CacheEntry>(config.reads.cacheMaxBytes, (entry) =>
      'etag' in entry
        ? entry.etag.length + (entry.inline?.length ?? 0) + (entry.datumId?.length ?? 0)
        : 'body' in entry
          ? entry.body.length
          : entry.recordKey.length,
    );
    if (redis.isCluster) {
      this.datumKeyAround = null;
    } else {
      const [head, tail] = keys.datum('\0').split('\0');
      this.datumKeyAround = [head, tail];
      // Registered once per client; ioredis sends it with EVALSHA, and EVAL after a NOSCRIPT (a restarted server).
      if (!Object.hasOwn(redis, 'readRecordBuffer')) {
        redis.defineCommand('readRecord', { numberOfKeys: 1, lua: READ_RECORD_LUA });
      }
    }
  }

  /**
   * Starts hearing of every change to records and bodies (the query role calls it): until then nothing is cached
   * and no waiting reader is woken.
   */
  followChanges(): void {
    if (this.channel !== null) return;
    this.channel = new InvalidationChannel(this.redis, [this.keys.recordPrefix(), this.keys.datumPrefix()], {
      keysChanged: (keys) => {
        for (const key of keys) {
          this.cache.invalidate(key);
          this.wake(this.watchers.get(key));
        }
      },
      coherenceChanged: (coherent) => {
        this.cache.setUsable(coherent);
        // Waiters keep waiting while invalidations are lost; once they arrive again, every waiter reads again to
        // see what changed meanwhile.
        if (coherent) this.wakeEveryone();
      },
      everythingChanged: () => {
        this.cache.flush();
        this.wakeEveryone();
      },
    });
    this.channel.start();
  }

  /** Whether changes are being heard from every master (waiting readers are woken, the cache is in use). */
  get followingChanges(): boolean {
    return this.channel?.isCoherent ?? false;
  }

  get cacheBytes(): number {
    return this.cache.bytes;
  }

  async onApplicationShutdown(): Promise<void> {
    await this.channel?.close();
  }

  /**
   * Calls `watcher.keysChanged()` whenever the record of one of `webhookKeys` may have changed (and whenever anything
   * may have), until `unwatch` is called with the record keys this returns. Register before reading, so that no
   * change after the read goes unseen. The watcher is held as it is (no closure, no Set for a key only it watches):
   * 10,000 waiting reads hold 10,000 of these.
   */
  watch(webhookKeys: string[], watcher: KeyWatcher): string[] {
    // Under rotation a key may change under any secret's record.
    const recordKeys =
      this.digester.secretCount === 1 && webhookKeys.length === 1
        ? [this.keys.record(this.digester.digest(webhookKeys[0]))]
        : webhookKeys.flatMap((key) => this.digester.digests(key).map((digest) => this.keys.record(digest)));
    for (const recordKey of recordKeys) {
      const current = this.watchers.get(recordKey);
      if (current === undefined) this.watchers.set(recordKey, watcher);
      else if (current instanceof Set) current.add(watcher);
      else if (current !== watcher) this.watchers.set(recordKey, new Set([current, watcher]));
    }
    return recordKeys;
  }

  /** Stops calling `watcher` for the record keys `watch` returned. */
  unwatch(recordKeys: string[], watcher: KeyWatcher): void {
    for (const recordKey of recordKeys) {
      const current = this.watchers.get(recordKey);
      if (current === watcher) {
        this.watchers.delete(recordKey);
      } else if (current instanceof Set) {
        current.delete(watcher);
        if (current.size === 0) this.watchers.delete(recordKey);
      }
    }
  }

  /**
   * The record under a webhook key. `holdsCurrent` says whether the caller already has the version with this ETag
   * (a conditional request); then the answer is not-modified and the body is not read.
   */
  async read(webhookKey: string, holdsCurrent?: (etag: string) => boolean): Promise<ReadResult> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.recordOf(webhookKey);
      if (read === null) return { kind: 'missing' };
      const { record } = read;
      if (holdsCurrent?.(record.etag)) return { kind: 'not-modified', etag: record.etag };
      const body =
        record.inline ??
        (record.datumId === null
          ? null
          : read.sharedBody !== undefined
            ? read.sharedBody
            : await this.body(record.datumId));
      if (body !== null) return { kind: 'found', etag: record.etag, body };
      // The shared body went between the two reads: a write moved the key on and freed it. The key's record now
      // says where its data is; read once more rather than answer 404 for a key that holds data.
      if (attempt === 2) return { kind: 'missing' };
    }
  }

  /**
   * The record under a webhook key when the cache holds all of it (record and body), without touching Redis; null
   * otherwise (then `read` is the way). Synchronous, for the hot path.
   */
  readCached(webhookKey: string): FoundRecord | null {
    if (!this.cache.active || this.digester.secretCount > 1) return null;
    const memoKey = RECORD_KEY_MEMO + webhookKey;
    const remembered = this.cache.get(memoKey);
    const recordKey =
      remembered !== undefined && 'recordKey' in remembered
        ? remembered.recordKey
        : this.keys.record(this.digester.digest(webhookKey));
    const record = this.cached(recordKey);
    if (record === undefined || !('etag' in record)) return null;
    // Remembered only for a key the cache answers: a flood of unknown keys adds nothing to the cache.
    if (remembered === undefined) this.cache.remember(memoKey, { recordKey, expireAt: null });
    if (record.inline !== null) return { etag: record.etag, body: record.inline };
    if (record.datumId === null) return null;
    const body = this.cached(this.keys.datum(record.datumId));
    return body !== undefined && 'body' in body ? { etag: record.etag, body: body.body } : null;
  }

  /** Whether reads may be served from the cache now. */
  get cacheActive(): boolean {
    return this.cache.active;
  }

  /**
   * Reads many keys in two round trips at most: the records, then the shared bodies they point at that the first
   * round trip did not read (on a single server it reads them with the records).
   */
  async readMany(webhookKeys: string[]): Promise<Map<string, FoundRecord>> {
    const reads = await Promise.all(webhookKeys.map((key) => this.recordOf(key)));
    const datumIds = [
      ...new Set(
        reads.flatMap((read) =>
          read && !read.record.inline && read.record.datumId && read.sharedBody === undefined
            ? [read.record.datumId]
            : [],
        ),
      ),
    ];
    const bodies = await Promise.all(datumIds.map((id) => this.body(id)));
    const bodiesById = new Map(datumIds.map((id, index) => [id, bodies[index]]));
    const found = new Map<string, FoundRecord>();
    reads.forEach((read, index) => {
      if (read === null) return;
      const { record } = read;
      const body = record.inline ?? read.sharedBody ?? bodiesById.get(record.datumId ?? '') ?? null;
      if (body !== null) found.set(webhookKeys[index], { etag: record.etag, body });
    });
    return found;
  }

  /**
   * The record of a webhook key. Under a rotation of the secret (WEBHOOK_KEY_SECRETS) the key may have a record per
   * secret: the first that exists, newest secret first, answers (a tombstone included, so that a key deleted under
   * the newest secret never shows what an older record holds). Every record is asked for in the same tick, one
   * round trip with auto-pipelining, and none is cached while a rotation lasts: the cache is per record.
   */
  private async recordOf(webhookKey: string): Promise<RecordRead | null> {
    if (this.digester.secretCount === 1) return this.record(this.keys.record(this.digester.digest(webhookKey)));
    const records = await Promise.all(
      this.digester
        .digests(webhookKey)
        .map((digest) => this.redis.hmgetBuffer(this.keys.record(digest), 'e', 'b', 'd', 'a')),
    ).catch(redisUnavailable);
    const [etag, inline, datumId] = records.find(([, , , owner]) => owner !== null) ?? records[0];
    if (etag === null) return null;
    return { record: { etag: etag.toString('latin1'), inline, datumId: datumId?.toString() ?? null, expireAt: null } };
  }

  /** A record from the cache, else from Redis (with its shared body on a single server). Not async: no extra tick. */
  private record(recordKey: string): Promise<RecordRead | null> {
    const cached = this.cached(recordKey);
    if (cached !== undefined && 'etag' in cached) return Promise.resolve({ record: cached });
    return this.fetch(recordKey, (caching) => this.readRecord(recordKey, caching));
  }

  /**
   * The record's fields from Redis; on a single server read-record.lua also reads its shared body. The record may
   * be cached (its read was registered as a fill). The shared body's key was not known before the read, so no fill
   * guarded it: it is cached only when no invalidation at all arrived while the read was out (see
   * ReadCache.completeUnregisteredFill), else its next read fills it with its own GET.
   */
  private async readRecord(
    recordKey: string,
    caching: boolean,
  ): Promise<{ value: RecordRead | null; cacheable: CacheEntry | undefined }> {
    const changesBefore = this.cache.changes;
    const [etag, inline, datumId, sharedBody] =
      this.datumKeyAround === null
        ? await this.redis.hmgetBuffer(recordKey, 'e', 'b', 'd')
        : await this.redis.readRecordBuffer(recordKey, ...this.datumKeyAround);
    if (etag === null) return { value: null, cacheable: undefined };
    // The expiry matters only to the cache: a read that will not be cached does not parse it.
    const expireAt = inline === null || !caching ? null : expiryOfBody(inline);
    const record: CachedRecord = {
      etag: etag.toString('latin1'),
      inline,
      datumId: datumId?.toString() ?? null,
      expireAt: expireAt ?? null,
    };
    if (caching && sharedBody && record.datumId !== null)
      this.cacheSharedBody(record.datumId, sharedBody, changesBefore);
    return { value: { record, sharedBody }, cacheable: expireAt === undefined || !caching ? undefined : record };
  }

  private cacheSharedBody(datumId: string, body: Buffer, changesBefore: number): void {
    const expireAt = expiryOfBody(body);
    if (expireAt !== undefined) {
      this.cache.completeUnregisteredFill(this.keys.datum(datumId), { body, expireAt }, changesBefore);
    }
  }

  private async body(datumId: string): Promise<Buffer | null> {
    const datumKey = this.keys.datum(datumId);
    const cached = this.cached(datumKey);
    if (cached !== undefined && 'body' in cached) return cached.body;
    return this.fetch(datumKey, async (caching) => {
      const body = await this.redis.getBuffer(datumKey);
      if (body === null || !caching) return { value: body, cacheable: undefined };
      const expireAt = expiryOfBody(body);
      return { value: body, cacheable: expireAt === undefined ? undefined : { body, expireAt } };
    });
  }

  /** The cache's entry for `key` unless it is past its expiry. */
  private cached(key: string): CacheEntry | undefined {
    if (!this.cache.active) return undefined;
    const entry = this.cache.get(key);
    if (entry === undefined) return undefined;
    if (entry.expireAt !== null && entry.expireAt <= Date.now()) {
      this.cache.invalidate(key);
      return undefined;
    }
    return entry;
  }

  /** Reads `key` from Redis, and caches what `read` says may be cached unless the key changed meanwhile. */
  private async fetch<T>(
    key: string,
    read: (caching: boolean) => Promise<{ value: T; cacheable: CacheEntry | undefined }>,
  ): Promise<T> {
    if (!this.cache.active) return read(false).then(valueOf, redisUnavailable);
    const fill = this.cache.beginFill(key);
    let cacheable: CacheEntry | undefined;
    try {
      const answer = await read(true).catch(redisUnavailable);
      cacheable = answer.cacheable;
      return answer.value;
    } finally {
      this.cache.completeFill(fill, cacheable);
    }
  }

  private wake(watchers: KeyWatcher | Set<KeyWatcher> | undefined): void {
    if (watchers === undefined) return;
    // A copy: a watcher woken may stop watching, or start again, while the others are being woken.
    if (watchers instanceof Set) for (const watcher of [...watchers]) watcher.keysChanged();
    else watchers.keysChanged();
  }

  private wakeEveryone(): void {
    for (const watchers of [...this.watchers.values()]) this.wake(watchers);
  }
}

function valueOf<T>(answer: { value: T }): T {
  return answer.value;
}
