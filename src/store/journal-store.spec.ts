import { appendShardCount } from './journal-store';

describe('appendShardCount', () => {
  const MiB = 1_048_576;

  it('gives every shard room for ten of the largest entries, in a number of shards that divides 48', () => {
    expect(appendShardCount(256 * MiB)).toBe(24);
    expect(appendShardCount(480 * MiB)).toBe(48);
    expect(appendShardCount(64 * MiB)).toBe(6);
    for (const bytes of [MiB, 11 * MiB, 100 * MiB, 300 * MiB, 1_000 * MiB]) {
      const shards = appendShardCount(bytes);
      expect(48 % shards).toBe(0);
      if (shards > 1) expect(bytes / shards).toBeGreaterThanOrEqual(10 * MiB);
    }
  });

  it('keeps one shard under a bound too small to split', () => {
    expect(appendShardCount(8 * MiB)).toBe(1);
  });
});
