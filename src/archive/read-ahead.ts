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
