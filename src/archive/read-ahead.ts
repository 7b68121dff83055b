/**
 * Yields what `source` yields, having already asked it for the next item when it hands out the current one: the
 * archive reads (and turns into MongoDB writes) the next batch from Redis while the consumer writes this one to
 * MongoDB. At most one item is read ahead, so memory stays at two batches.
 *
 * A read that fails while the consumer is busy is thrown to the consumer where it asks for that item, never left
 * unhandled; a consumer that stops early (an error, a lost lock) waits for the read in flight to settle, so nothing
 * of the run is still going once it has ended.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const current = await next;
      if (current.done) {
        finished = true;
        return;
      }
      next = iterator.next();
      // Marks the read handled until it is awaited above (or in `finally`, when the consumer stops first).
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    if (!finished) {
      await next.catch(() => undefined);
      await iterator.return?.();
    }
  }
}

/** `source`'s items, each turned into what `map` makes of it (as they are read, so ahead of the consumer too). */
export async function* mapBatches<T, U>(source: AsyncIterable<T>, map: (item: T) => U): AsyncGenerator<U> {
  for await (const item of source) yield map(item);
}

/** What a batch may hold: at most `items` items, and items weighing `weight` in total (see `fillBatches`). */
export interface BatchLimits {
  items: number;
  weight: number;
}

/**
 * Regroups `source`'s chunks into batches of at most `limits.items` items, each batch closed as soon as its items
 * weigh `limits.weight` or more: a batch weighs less than `limits.weight` plus its last item. The archive reads Redis
 * in chunks small enough that even a chunk of the largest items stays within its budget, and writes MongoDB in
 * batches as large as that budget allows: few round trips for small records, and bounded memory for large ones.
 */
export async function* fillBatches<T>(
  source: AsyncIterable<T[]>,
  weigh: (item: T) => number,
  limits: BatchLimits,
): AsyncGenerator<T[]> {
  let batch: T[] = [];
  let weight = 0;
  for await (const chunk of source) {
    for (const item of chunk) {
      batch.push(item);
      weight += weigh(item);
      if (batch.length >= limits.items || weight >= limits.weight) {
        yield batch;
        batch = [];
        weight = 0;
      }
    }
  }
  if (batch.length > 0) yield batch;
}
