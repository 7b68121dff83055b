import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyLayout } from './key-layout';
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
}

/** One applied write, as the archive needs it even after Redis has forgotten the data (TTL, overwrite, delete). */
export interface JournalEntry {
  /** Stream id: the order of writes. */
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

export type NewJournalEntry = Omit<JournalEntry, 'id' | 'size'>;

/** The journal as /health/ready shows it. */
export interface JournalState {
  bytes: number;
  maxBytes: number;
  /** Entries the bound dropped since an archive run last drained the journal: > 0 means degraded. */
  droppedSinceDrain: number;
}

/**
 * The write journal: a Redis stream holding every applied write the archive has not copied yet, so that data
 * whose TTL ends before the nightly run still reaches MongoDB. Bounded in bytes (ARCHIVE_JOURNAL_MAX_BYTES): when
 * full, the oldest entries are dropped and counted (a MongoDB outage must not fill Redis and stop ingest). Written
 * only when the archive is configured (MONGODB_URI set), since nothing else would ever drain it.
 */
@Injectable()
export class JournalStore {
  readonly enabled: boolean;
  private readonly maxBytes: string;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    defineStoreScripts(redis);
    this.enabled = config.mongodbUri !== null;
    this.maxBytes = String(config.archive.journalMaxBytes);
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
      'r',
      entry.ended.join(','),
      ...(entry.body === null ? [] : ['b', entry.body]),
    ];
    const size = fields.reduce((total, field) => total + Buffer.byteLength(field), 0);
    return this.redis.appendJournal(
      this.keys.journal(),
      this.keys.journalBytes(),
      this.keys.journalDropped(),
      this.maxBytes,
      String(size),
      ...fields,
    );
  }

  /** The oldest `count` entries not yet acknowledged, at most up to `untilId`. */
  async read(count: number, untilId: string): Promise<JournalEntry[]> {
    const raw = await this.redis.xrange(this.keys.journal(), '-', untilId, 'COUNT', count);
    return raw.map(([id, fields]) => parseEntry(id, fields));
  }

  /** The id of the newest entry, or null when the journal is empty. */
  async newestId(): Promise<string | null> {
    const [newest] = await this.redis.xrevrange(this.keys.journal(), '+', '-', 'COUNT', 1);
    return newest ? newest[0] : null;
  }

  /** Drops every entry of an account (its erasure), `count` read per step; returns how many. */
  async eraseAccount(accountId: string, count = 1000): Promise<number> {
    let erased = 0;
    let from = '-';
    for (;;) {
      const raw = await this.redis.xrange(this.keys.journal(), from, '+', 'COUNT', count).catch(redisUnavailable);
      const entries = raw.map(([id, fields]) => parseEntry(id, fields));
      await this.acknowledge(entries.filter((entry) => entry.accountId === accountId)).catch(redisUnavailable);
      erased += entries.filter((entry) => entry.accountId === accountId).length;
      if (raw.length < count) return erased;
      from = `(${raw[raw.length - 1][0]}`;
    }
  }

  /** Drops entries that are in the archive now, and what they counted towards the bound. */
  async acknowledge(entries: JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const pairs = entries.flatMap((entry) => [entry.id, String(entry.size)]);
    await this.redis.acknowledgeJournal(this.keys.journal(), this.keys.journalBytes(), ...pairs);
  }

  /**
   * Called once a run has drained every entry up to its start: the drops it had counted when it started are behind
   * it (`droppedBefore`, from state()); drops that happened during the run still show until the next one.
   */
  async markDrained(droppedBefore: number): Promise<void> {
    if (droppedBefore === 0) return;
    const left = await this.redis.decrby(this.keys.journalDropped(), droppedBefore);
    if (left <= 0) await this.redis.del(this.keys.journalDropped());
  }

  async state(): Promise<JournalState> {
    const [bytes, dropped] = await this.redis
      .mget(this.keys.journalBytes(), this.keys.journalDropped())
      .catch(redisUnavailable);
    return { bytes: Number(bytes ?? 0), maxBytes: Number(this.maxBytes), droppedSinceDrain: Number(dropped ?? 0) };
  }
}

function parseEntry(id: string, fields: string[]): JournalEntry {
  const value = new Map<string, string>();
  for (let index = 0; index < fields.length; index += 2) value.set(fields[index], fields[index + 1]);
  const text = (name: string) => value.get(name) ?? '';
  const list = (name: string) => (text(name) === '' ? [] : text(name).split(','));
  return {
    id,
    size: Number(text('s')),
    op: text('o') === 'delete' ? 'delete' : 'set',
    datumId: text('d'),
    accountId: text('a'),
    flowId: text('f'),
    version: text('v') === '' ? null : Number(text('v')),
    at: Number(text('t')),
    expiresAt: text('x') === '' ? null : Number(text('x')),
    keys: list('k').map((pair) => {
      const [digest, previous, previousUnder] = pair.split(':');
      return { digest, previous: previous ?? '', ...(previousUnder && { previousUnder }) };
    }),
    ended: list('r'),
    body: value.get('b') ?? null,
  };
}
