import Redis, { Cluster } from 'ioredis';
import { JOURNAL_SHARDS, KeyLayout } from '../../src/store/key-layout';

const keys = new KeyLayout('sg:');

/** The stream of every journal shard, and the unsharded stream of before the shards. */
export const journalStreams = [
  ...Array.from({ length: JOURNAL_SHARDS }, (_, index) => keys.journalShard(index).stream),
  keys.unshardedJournal().stream,
];

/** Every entry of the write journal, over all its shards, as [stream, id, fields]. */
export async function journalEntries(redis: Redis | Cluster): Promise<Array<[string, string, string[]]>> {
  const perStream = await Promise.all(
    journalStreams.map(async (stream) =>
      (await redis.xrange(stream, '-', '+')).map(([id, fields]): [string, string, string[]] => [stream, id, fields]),
    ),
  );
  return perStream.flat();
}
