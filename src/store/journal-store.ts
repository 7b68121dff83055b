import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable } from '@nestjs/common';
import calculateSlot from 'cluster-key-slot';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JOURNAL_SHARDS, JournalShardKeys, KeyLayout } from './key-layout';
import { defineStoreScripts, RedisClient } from './redis-client';
import { redisUnavailable } from './redis-errors';

/** One key a write applied, and the datum that key held before (''), which this write ended for that key. */
export interface JournalKey {
  digest: string;
  previous: string;
  /**
   * The digest under which the key held `previous`, when it is not `digest`: an older secret's, while one is being
   * rotated out (the write moved the key to the newest secret).
   */
  previousUnder?: string;
  /**
   * The key's mask under `digest` when the writer knew it (the newest secret's digest): copied to the archive with the
   * entry, so that re-key can move an archived key whose record Redis lost before any snapshot copied its mask.
   */
  mask?: string;
  /**
   * The key's generation after this write (apply-record-keys.lua's `g`: Redis time in µs, growing per key): when
   * the key took this write's datum and ended `previous`, in the order Redis applied the key's writes. Absent for a
   * replay of a write made before generations.
   */
  generation?: string;
}

/** One applied write, as the archive needs it even after Redis has forgotten the data (TTL, overwrite, delete). */
export interface JournalEntry {
  /** The shard holding it (an index into JournalStore's drained shards). */
  shard: number;
  /** Stream id: the order of writes within its shard. */
  id: string;
  /** Bytes it counts towards ARCHIVE_JOURNAL_MAX_BYTES. */
  size: number;
  op: 'set' | 'delete';
  /** The write's datum (its message id); for a delete, the id of the delete message. */
  datumId: string;
  accountId: string;
  flowId: string;
  version: number | null;
  /** storedAt of a set, time of a delete (ms). */
  at: number;
  expiresAt: number | null;
  keys: JournalKey[];
  /** Datums no key points at any more after this write: overwritten or deleted everywhere. */
  ended: string[];
  /** The stored JSON document of a set; null for a delete. */
  body: string | null;
}

export type NewJournalEntry = Omit<JournalEntry, 'shard' | 'id' | 'size'>;

/** The journal as /health/ready shows it. */
export interface JournalState {
  bytes: number;
  maxBytes: number;
  /** Entries the bound dropped since an archive run last drained the journal: > 0 means degraded. */
  droppedSinceDrain: number;
}

/** What an archive run drains: per shard, the entries written before it started, and the drops counted by then. */
export interface JournalDrain {
  shards: Array<{ shard: number; until: string | null; droppedBefore: number }>;
}

/**
 * The smallest share of ARCHIVE_JOURNAL_MAX_BYTES a shard is given. An entry larger than its shard's share is
 * dropped alone, and the largest entry is about MAX_MESSAGE_BYTES (at most 1 MiB) with its keys' digests. Entries
 * land in shards by hash, so the first drop comes when the fullest shard is full, before the journal as a whole is:
 * shards of at least ten of the largest entries keep that early drop small (the default 256 MiB gives 24 shards of
 * 10.7 MiB: evenly spread over 1, 2, 3, 4, 6, 8, 12 or 24 masters).
 */
const MIN_SHARD_BYTES = 10 * 1_048_576;

/**
 * The write journal: Redis streams holding every applied write the archive has not copied yet, so that data
 * whose TTL ends before the nightly run still reaches MongoDB. Sharded, so that on a cluster the appends of every
 * write spread over every master instead of all landing on one: an entry goes to the shard its datum id hashes to,
 * among the `appendShards` shards in use (JOURNAL_SHARDS = 48 when ARCHIVE_JOURNAL_MAX_BYTES allows every shard
 * MIN_SHARD_BYTES, fewer, evenly spaced over the slots, when it does not). Each shard is bounded in bytes by its share
 * of ARCHIVE_JOURNAL_MAX_BYTES, so the journal is bounded by it in total: when a shard is full, its oldest entries
 * are dropped and counted (a MongoDB outage must not fill Redis and stop ingest). Entries of one key may sit in
 * different shards; the archive's writes do not depend on the order it copies them in (archive-documents.ts).
 * Written only when the archive is configured (MONGODB_URI set), since nothing else would ever drain it.
 */
@Injectable()
export class JournalStore {
  readonly enabled: boolean;
  /** Every shard an archive run drains: the JOURNAL_SHARDS shards, then the stream of before the shards. */
  private readonly drained: JournalShardKeys[];
  /** The shards appended to (indexes into `drained`), evenly spaced. */
  private readonly appendShards: number[];
  private readonly maxBytes: number;
  private readonly shardMaxBytes: string;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    keys: KeyLayout,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    defineStoreScripts(redis);
    this.enabled = config.mongodbUri !== null;
    this.maxBytes = config.archive.journalMaxBytes;
    this.drained = [
      ...Array.from({ length: JOURNAL_SHARDS }, (_, index) => keys.journalShard(index)),
      keys.unshardedJournal(),
    ];
    const count = appendShardCount(this.maxBytes);
    this.appendShards = Array.from({ length: count }, (_, n) => (n * JOURNAL_SHARDS) / count);
    this.shardMaxBytes = String(Math.floor(this.maxBytes / count));
  }

  /** Returns how many older entries the bound dropped unarchived (0 normally). */
  async append(entry: NewJournalEntry): Promise<number> {
    if (!this.enabled) return 0;
    const fields = [
      'o',
      entry.op,
      'd',
      entry.datumId,
      'a',
      entry.accountId,
      'f',
      entry.flowId,
      'v',
      entry.version === null ? '' : String(entry.version),
      't',
      String(entry.at),
      'x',
      entry.expiresAt === null ? '' : String(entry.expiresAt),
      'k',
      entry.keys
        .map(({ digest, previous, previousUnder }) =>
          previousUnder ? `${digest}:${previous}:${previousUnder}` : `${digest}:${previous}`,
        )
        .join(','),
      ...(entry.keys.some(({ mask }) => mask !== undefined)
        ? ['m', entry.keys.map(({ mask }) => mask ?? '').join(',')]
        : []),
      ...(entry.keys.some(({ generation }) => generation !== undefined)
        ? ['g', entry.keys.map(({ generation }) => generation ?? '').join(',')]
        : []),
      'r',
      entry.ended.join(','),
      ...(entry.body === null ? [] : ['b', entry.body]),
    ];
    const size = fields.reduce((total, field) => total + Buffer.byteLength(field), 0);
    const shard = this.drained[this.appendShards[calculateSlot(entry.datumId) % this.appendShards.length]];
    return this.redis.appendJournal(
      shard.stream,
      shard.bytes,
      shard.dropped,
      this.shardMaxBytes,
      String(size),
      ...fields,
    );
  }

  /** Where a run stops draining each shard (its newest entry now), and the drops each had counted by then. */
  async startDrain(): Promise<JournalDrain> {
    const shards = await Promise.all(
      this.drained.map(async (keys, shard) => {
        const [[newest], dropped] = await Promise.all([
          this.redis.xrevrange(keys.stream, '+', '-', 'COUNT', 1),
          this.redis.get(keys.dropped),
        ]);
        return { shard, until: newest ? newest[0] : null, droppedBefore: Number(dropped ?? 0) };
      }),
    );
    return { shards };
  }

  /** The oldest `count` entries of a shard not yet acknowledged, at most up to `until`. */
  async read(shard: number, count: number, until: string): Promise<JournalEntry[]> {
    return this.readAfter(shard, count, '-', until);
  }

  /**
   * A shard's entries up to `until`, oldest first, `count` at a time, each batch read after the previous one's last
   * entry: so the next batch can be read before this one is acknowledged (the archive reads ahead while it writes).
   * Acknowledging stays the caller's, once MongoDB has a batch.
   */
  async *batches(shard: number, count: number, until: string): AsyncGenerator<JournalEntry[]> {
    let from = '-';
    for (;;) {
      const entries = await this.readAfter(shard, count, from, until);
      if (entries.length > 0) yield entries;
      if (entries.length < count) return;
      from = `(${entries[entries.length - 1].id}`;
    }
  }

  private async readAfter(shard: number, count: number, from: string, until: string): Promise<JournalEntry[]> {
    const raw = await this.redis.xrange(this.drained[shard].stream, from, until, 'COUNT', count);
    return raw.map(([id, fields]) => parseEntry(shard, id, fields));
  }

  /** Drops every entry of an account (its erasure), in every shard, `count` read per step; returns how many. */
  async eraseAccount(accountId: string, count = 1000): Promise<number> {
    let erased = 0;
    for (const [shard, keys] of this.drained.entries()) {
      let from = '-';
      for (;;) {
        const raw = await this.redis.xrange(keys.stream, from, '+', 'COUNT', count).catch(redisUnavailable);
        const entries = raw
          .map(([id, fields]) => parseEntry(shard, id, fields))
          .filter((entry) => entry.accountId === accountId);
        await this.acknowledge(entries).catch(redisUnavailable);
        erased += entries.length;
        if (raw.length < count) break;
        from = `(${raw[raw.length - 1][0]}`;
      }
    }
    return erased;
  }

  /** Drops entries that are in the archive now, and what they counted towards their shard's bound. */
  async acknowledge(entries: JournalEntry[]): Promise<void> {
    const byShard = new Map<number, string[]>();
    for (const entry of entries) {
      // Appended in place: copying the shard's list per entry made a batch quadratic (a fifth of a run's allocations).
      const pairs = byShard.get(entry.shard);
      if (pairs === undefined) byShard.set(entry.shard, [entry.id, String(entry.size)]);
      else pairs.push(entry.id, String(entry.size));
    }
    await Promise.all(
      [...byShard].map(([shard, pairs]) =>
        this.redis.acknowledgeJournal(this.drained[shard].stream, this.drained[shard].bytes, ...pairs),
      ),
    );
  }

  /**
   * Called once a run has drained every shard up to where it started: the drops they had counted then are behind
   * it; drops that happened during the run still show until the next one.
   */
  async markDrained(drain: JournalDrain): Promise<void> {
    await Promise.all(
      drain.shards.map(async ({ shard, droppedBefore }) => {
        if (droppedBefore === 0) return;
        const left = await this.redis.decrby(this.drained[shard].dropped, droppedBefore);
        if (left <= 0) await this.redis.del(this.drained[shard].dropped);
      }),
    );
  }

  /** The journal in total, over every shard. */
  async state(): Promise<JournalState> {
    const counters = await Promise.all(
      this.drained.map((keys) => Promise.all([this.redis.get(keys.bytes), this.redis.get(keys.dropped)])),
    ).catch(redisUnavailable);
    return {
      bytes: counters.reduce((total, [bytes]) => total + Number(bytes ?? 0), 0),
      maxBytes: this.maxBytes,
      droppedSinceDrain: counters.reduce((total, [, dropped]) => total + Number(dropped ?? 0), 0),
    };
  }
}

/**
 * How many shards ARCHIVE_JOURNAL_MAX_BYTES allows: the most among the divisors of JOURNAL_SHARDS that leave each
 * at least MIN_SHARD_BYTES (at least one shard). A divisor, so that the shards in use are evenly spaced.
 */
export function appendShardCount(maxBytes: number): number {
  const divisors = Array.from({ length: JOURNAL_SHARDS }, (_, n) => n + 1).filter((n) => JOURNAL_SHARDS % n === 0);
  return Math.max(1, ...divisors.filter((n) => maxBytes / n >= MIN_SHARD_BYTES));
}

function parseEntry(shard: number, id: string, fields: string[]): JournalEntry {
  // One pass over the stream entry's field/value pairs, without a Map per entry: a run parses every entry.
  let size = '';
  let op = '';
  let datumId = '';
  let accountId = '';
  let flowId = '';
  let version = '';
  let at = '';
  let expiresAt = '';
  let keys = '';
  let masks = '';
  let generations = '';
  let ended = '';
  let body: string | null = null;
  for (let index = 0; index < fields.length; index += 2) {
    const value = fields[index + 1] ?? '';
    switch (fields[index]) {
      case 's':
        size = value;
        break;
      case 'o':
        op = value;
        break;
      case 'd':
        datumId = value;
        break;
      case 'a':
        accountId = value;
        break;
      case 'f':
        flowId = value;
        break;
      case 'v':
        version = value;
        break;
      case 't':
        at = value;
        break;
      case 'x':
        expiresAt = value;
        break;
      case 'k':
        keys = value;
        break;
      case 'm':
        masks = value;
        break;
      case 'g':
        generations = value;
        break;
      case 'r':
        ended = value;
        break;
      case 'b':
        body = value;
        break;
    }
  }
  const list = (text: string) => (text === '' ? [] : text.split(','));
  const maskList = list(masks);
  const generationList = list(generations);
  return {
    shard,
    id,
    size: Number(size),
    op: op === 'delete' ? 'delete' : 'set',
    datumId,
    accountId,
    flowId,
    version: version === '' ? null : Number(version),
    at: Number(at),
    expiresAt: expiresAt === '' ? null : Number(expiresAt),
    keys: list(keys).map((pair, index) => {
      const [digest, previous, previousUnder] = pair.split(':');
      const mask = maskList[index];
      const generation = generationList[index];
      return {
        digest,
        previous: previous ?? '',
        ...(previousUnder && { previousUnder }),
        ...(mask && { mask }),
        ...(generation && { generation }),
      };
    }),
    ended: list(ended),
    body,
  };
}
