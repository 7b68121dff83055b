import { InjectRedis } from '@nestjs-modules/ioredis';
import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KeyLayout } from './key-layout';
import { defineStoreScripts, RedisClient } from './redis-client';

/** One key a write applied, and the datum that key held before (''), which this write ended for that key. */
export interface JournalKey {
  digest: string;
  previous: string;
}

/** One applied write, as the archive needs it even after Redis has forgotten the data (TTL, overwrite, delete). */
export interface JournalEntry {
  /** Stream id: the order of writes. */
  id: string;
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

export type NewJournalEntry = Omit<JournalEntry, 'id'>;

/**
 * The write journal: a Redis stream holding every applied write the archive has not copied yet, so that data
 * whose TTL ends before the nightly run still reaches MongoDB. Bounded by ARCHIVE_JOURNAL_MAX_ENTRIES; written
 * only when the archive is configured (MONGODB_URI set), since nothing else would ever drain it.
 */
@Injectable()
export class JournalStore {
  readonly enabled: boolean;
  private readonly cap: string;

  constructor(
    @InjectRedis() private readonly redis: RedisClient,
    private readonly keys: KeyLayout,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    defineStoreScripts(redis);
    this.enabled = config.mongodbUri !== null;
    this.cap = String(config.archive.journalMaxEntries);
  }

  /** Returns how many older entries the cap trimmed away unarchived (0 normally). */
  async append(entry: NewJournalEntry): Promise<number> {
    if (!this.enabled) return 0;
    const fields = [
      'o', entry.op,
      'd', entry.datumId,
      'a', entry.accountId,
      'f', entry.flowId,
      'v', entry.version === null ? '' : String(entry.version),
      't', String(entry.at),
      'x', entry.expiresAt === null ? '' : String(entry.expiresAt),
      'k', entry.keys.map(({ digest, previous }) => `${digest}:${previous}`).join(','),
      'r', entry.ended.join(','),
      ...(entry.body === null ? [] : ['b', entry.body]),
    ];
    return this.redis.appendJournal(this.keys.journal(), this.cap, ...fields);
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

  /** Drops every entry up to and including `id`: they are in the archive. */
  async acknowledge(id: string): Promise<void> {
    const [ms, sequence] = id.split('-');
    await this.redis.xtrim(this.keys.journal(), 'MINID', `${ms}-${Number(sequence) + 1}`);
  }
}

function parseEntry(id: string, fields: string[]): JournalEntry {
  const value = new Map<string, string>();
  for (let index = 0; index < fields.length; index += 2) value.set(fields[index], fields[index + 1]);
  const text = (name: string) => value.get(name) ?? '';
  const list = (name: string) => (text(name) === '' ? [] : text(name).split(','));
  return {
    id,
    op: text('o') === 'delete' ? 'delete' : 'set',
    datumId: text('d'),
    accountId: text('a'),
    flowId: text('f'),
    version: text('v') === '' ? null : Number(text('v')),
    at: Number(text('t')),
    expiresAt: text('x') === '' ? null : Number(text('x')),
    keys: list('k').map((pair) => {
      const [digest, previous] = pair.split(':');
      return { digest, previous: previous ?? '' };
    }),
    ended: list('r'),
    body: value.get('b') ?? null,
  };
}
