import { ENTRY_OVERHEAD_BYTES, ReadCache } from './read-cache';

/** A cache of strings whose entries cost exactly `entryBytes` for keys of one character and values of 10 bytes. */
function cacheOf(maxEntries: number): { cache: ReadCache<string>; entryBytes: number } {
  const entryBytes = 1 + 10 + ENTRY_OVERHEAD_BYTES;
  const cache = new ReadCache<string>(maxEntries * entryBytes, (value) => Buffer.byteLength(value));
  cache.setUsable(true);
  return { cache, entryBytes };
}

function put(cache: ReadCache<string>, key: string, value: string): void {
  cache.completeFill(cache.beginFill(key), value);
}

describe('ReadCache', () => {
  it('counts the bytes of key, value and overhead, and gives them back on invalidation', () => {
    const { cache, entryBytes } = cacheOf(4);
    put(cache, 'a', '0123456789');
    put(cache, 'b', '0123456789');
    expect(cache.bytes).toBe(2 * entryBytes);
    cache.invalidate('a');
    expect(cache.bytes).toBe(entryBytes);
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('0123456789');
  });

  it('replacing an entry counts only the new one', () => {
    const { cache, entryBytes } = cacheOf(4);
    put(cache, 'a', '0123456789');
    put(cache, 'a', 'abcdefghij');
    expect(cache.bytes).toBe(entryBytes);
    expect(cache.get('a')).toBe('abcdefghij');
  });

  it('evicts the least recently used entry to stay within its bytes', () => {
    const { cache, entryBytes } = cacheOf(3);
    put(cache, 'a', '0123456789');
    put(cache, 'b', '0123456789');
    put(cache, 'c', '0123456789');
    expect(cache.get('a')).toBeDefined(); // now b is the least recently used
    put(cache, 'd', '0123456789');
    expect(cache.get('b')).toBeUndefined();
    expect(['a', 'c', 'd'].map((key) => cache.get(key) !== undefined)).toEqual([true, true, true]);
    expect(cache.bytes).toBe(3 * entryBytes);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('keeps an entry read over and over while entries never read come and go (second chance)', () => {
    const { cache } = cacheOf(4);
    put(cache, 'hot', '0123456789');
    for (let index = 0; index < 20; index++) {
      expect(cache.get('hot')).toBe('0123456789');
      put(cache, `cold${index}`, '0123456789');
    }
    expect(cache.get('hot')).toBe('0123456789');
    expect(cache.get('cold0')).toBeUndefined();
    expect(cache.get('cold19')).toBe('0123456789');
    expect(cache.size).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
  });

  it('evicts when every entry has been read: each gets one pass, then the oldest goes', () => {
    const { cache } = cacheOf(2);
    put(cache, 'a', '0123456789');
    put(cache, 'b', '0123456789');
    cache.get('a');
    cache.get('b');
    put(cache, 'c', '0123456789');
    expect(['a', 'b', 'c'].map((key) => cache.get(key) !== undefined)).toEqual([false, true, true]);
  });

  it('remembers a value no Redis key holds within the same bound, only while active', () => {
    const { cache, entryBytes } = cacheOf(2);
    cache.remember('m', '0123456789');
    expect(cache.get('m')).toBe('0123456789');
    expect(cache.bytes).toBe(entryBytes);
    put(cache, 'a', '0123456789');
    put(cache, 'b', '0123456789');
    expect(cache.bytes).toBe(2 * entryBytes);
    cache.setUsable(false);
    cache.remember('n', '0123456789');
    expect(cache.get('n')).toBeUndefined();
  });

  it('does not cache a value larger than the whole cache, and keeps what it had', () => {
    const { cache } = cacheOf(2);
    put(cache, 'a', '0123456789');
    put(cache, 'b', 'x'.repeat(1000));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe('0123456789');
  });

  it('drops the value of a read its key was invalidated during', () => {
    const { cache } = cacheOf(4);
    const fill = cache.beginFill('a');
    cache.invalidate('a');
    cache.completeFill(fill, 'old value');
    expect(cache.get('a')).toBeUndefined();
  });

  it('lets a read begun after the invalidation cache its value while an older read of the key is in flight', () => {
    const { cache } = cacheOf(4);
    const older = cache.beginFill('a');
    cache.invalidate('a');
    const newer = cache.beginFill('a');
    cache.completeFill(newer, 'new value');
    cache.completeFill(older, 'old value');
    expect(cache.get('a')).toBe('new value');
  });

  it('caches what a read learnt of a key it could not register only when nothing was invalidated meanwhile', () => {
    const { cache } = cacheOf(4);
    const quiet = cache.changes;
    cache.completeUnregisteredFill('a', 'learnt', quiet);
    expect(cache.get('a')).toBe('learnt');

    // Any invalidation while the read was out, of whatever key, and any flush: nothing is cached.
    const beforeInvalidation = cache.changes;
    cache.invalidate('some other key');
    cache.completeUnregisteredFill('b', 'raced', beforeInvalidation);
    expect(cache.get('b')).toBeUndefined();
    const beforeFlush = cache.changes;
    cache.flush();
    cache.completeUnregisteredFill('c', 'raced', beforeFlush);
    expect(cache.get('c')).toBeUndefined();
  });

  it('drops the value of a read begun before a flush', () => {
    const { cache } = cacheOf(4);
    const fill = cache.beginFill('a');
    cache.flush();
    cache.completeFill(fill, 'old value');
    expect(cache.get('a')).toBeUndefined();
  });

  it('neither serves nor takes entries while invalidations are not arriving, and starts empty when they are again', () => {
    const { cache } = cacheOf(4);
    put(cache, 'a', '0123456789');
    const inFlight = cache.beginFill('b');
    cache.setUsable(false);
    expect(cache.get('a')).toBeUndefined();
    put(cache, 'c', '0123456789');
    expect(cache.size).toBe(0);
    cache.setUsable(true);
    cache.completeFill(inFlight, 'read while invalidations were lost');
    expect(cache.size).toBe(0);
    expect(cache.bytes).toBe(0);
  });

  it('is never active with a bound of 0 bytes', () => {
    const cache = new ReadCache<string>(0, (value) => value.length);
    cache.setUsable(true);
    put(cache, 'a', 'x');
    expect(cache.active).toBe(false);
    expect(cache.size).toBe(0);
  });
});
