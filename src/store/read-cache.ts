/**
 * A read that may put what it read into the cache once Redis has answered. It is stale when, since it began, an
 * invalidation named its key or the whole cache was flushed: what it holds may then be older than what Redis holds.
 */
export interface CacheFill {
  readonly key: string;
  readonly generation: number;
  stale: boolean;
  readers: number;
}

/** What an entry costs besides its key and value bytes: the Map slots, the entry object, the fill bookkeeping. */
export const ENTRY_OVERHEAD_BYTES = 96;

/**
 * The in-process cache of what Redis holds, keyed by Redis key, bounded in bytes. Eviction gives a second chance
 * (CLOCK, an approximation of least recently used): the oldest entry goes unless it was read since it was stored or
 * last passed over, in which case it moves to the back. A hit then only sets a flag: reordering the Map on every
 * read (a delete and a set) cost a hot read about 1.5 µs per lookup.
 *
 * It knows nothing of Redis: the store feeds it invalidations (a key changed, or everything may have) and tells it
 * whether invalidations are arriving at all (`usable`); while they are not it holds nothing.
 *
 * The race it closes: a read that Redis answered before a write can have its answer arrive after the write's
 * invalidation. Every read that may fill the cache registers a fill first (`beginFill`); an invalidation of its
 * key, or a flush, marks the fill stale, and `completeFill` drops a stale fill's value instead of caching it.
 */
export class ReadCache<Value> {
  /** In insertion order; `used`: read since it was stored or last passed over by eviction. */
  private readonly entries = new Map<string, { value: Value; bytes: number; used: boolean }>();
  private readonly fills = new Map<string, CacheFill>();
  private generation = 0;
  /** Invalidations and flushes so far: see changesSince. */
  private changeCount = 0;
  private usedBytes = 0;
  private usable = false;

  constructor(
    readonly maxBytes: number,
    private readonly sizeOf: (value: Value) => number,
  ) {}

  get bytes(): number {
    return this.usedBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether the cache serves and takes entries: it is configured, and invalidations are known to arrive. */
  get active(): boolean {
    return this.usable && this.maxBytes > 0;
  }

  get(key: string): Value | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  /** A mark to pass to completeUnregisteredFill: the count of invalidations and flushes so far. */
  get changes(): number {
    return this.changeCount;
  }

  /**
   * Caches what a read learnt of a key it could not register as a fill before it went to Redis (its name came in
   * the same answer, e.g. a shared body read with its record), only when nothing at all was invalidated or flushed
   * since `changesBefore` (taken before the read was sent): then no change can have raced its answer. Any
   * invalidation, of whatever key, makes it cache nothing; the next read of the key fills it the usual way.
   */
  completeUnregisteredFill(key: string, value: Value, changesBefore: number): void {
    if (changesBefore === this.changeCount && this.active) this.store(key, value);
  }

  /** Registers a read of `key` about to go to Redis; pass the fill to completeFill when it is answered. */
  beginFill(key: string): CacheFill {
    const current = this.fills.get(key);
    if (current !== undefined) {
      current.readers++;
      return current;
    }
    const fill: CacheFill = { key, generation: this.generation, stale: false, readers: 1 };
    this.fills.set(key, fill);
    return fill;
  }

  /**
   * Ends a read: caches `value` (undefined: nothing to cache, e.g. the key is missing) unless the fill went stale,
   * the cache was flushed since, or the cache is not active.
   */
  completeFill(fill: CacheFill, value: Value | undefined): void {
    fill.readers--;
    if (fill.readers === 0 && this.fills.get(fill.key) === fill) this.fills.delete(fill.key);
    if (value === undefined || fill.stale || fill.generation !== this.generation || !this.active) return;
    this.store(fill.key, value);
  }

  /**
   * Caches a value that no Redis key holds and no write can change (e.g. what a pure function of the key gave), so
   * no fill guards it; it shares the byte bound and the eviction order with everything else. Only while active.
   */
  remember(key: string, value: Value): void {
    if (this.active) this.store(key, value);
  }

  /** The key changed in Redis: forget it, and let no read begun before now cache it. */
  invalidate(key: string): void {
    this.changeCount++;
    const fill = this.fills.get(key);
    if (fill !== undefined) {
      fill.stale = true;
      this.fills.delete(key);
    }
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.usedBytes -= entry.bytes;
  }

  /** Anything may have changed: forget everything, and let no read begun before now cache what it read. */
  flush(): void {
    this.generation++;
    this.changeCount++;
    this.fills.clear();
    this.entries.clear();
    this.usedBytes = 0;
  }

  /**
   * Whether invalidations are arriving. Both directions flush: going unusable, because changes from now on go
   * unseen; becoming usable again, because changes made while it was not were never seen.
   */
  setUsable(usable: boolean): void {
    this.usable = usable;
    this.flush();
  }

  private store(key: string, value: Value): void {
    const bytes = key.length + this.sizeOf(value) + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.usedBytes -= previous.bytes;
    }
    while (this.usedBytes + bytes > this.maxBytes) {
      const oldest = this.entries.entries().next();
      if (oldest.done === true) break;
      const [oldestKey, oldestEntry] = oldest.value;
      this.entries.delete(oldestKey);
      if (oldestEntry.used) {
        // Its second chance: to the back, unflagged. Every pass unflags, so the loop ends within one round.
        oldestEntry.used = false;
        this.entries.set(oldestKey, oldestEntry);
        continue;
      }
      this.usedBytes -= oldestEntry.bytes;
    }
    this.entries.set(key, { value, bytes, used: false });
    this.usedBytes += bytes;
  }
}
