import { mapBatches, readAhead } from './read-ahead';

/** A source that records when each item was asked for, relative to what the consumer has done. */
function recordedSource(items: number[], log: string[], failAt?: number): AsyncIterable<number> {
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (const item of items) {
          log.push(`read ${item}`);
          await new Promise((resolve) => setImmediate(resolve));
          if (item === failAt) throw new Error(`read ${item} failed`);
          yield item;
        }
      } finally {
        log.push('source closed');
      }
    },
  };
}

describe('readAhead', () => {
  it('asks for the next item before the consumer has finished with the current one', async () => {
    const log: string[] = [];
    for await (const item of readAhead(recordedSource([1, 2, 3], log))) {
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`wrote ${item}`);
    }
    expect(log).toEqual(['read 1', 'read 2', 'wrote 1', 'read 3', 'wrote 2', 'source closed', 'wrote 3']);
  });

  it('yields every item once, in order', async () => {
    const seen: number[] = [];
    for await (const item of readAhead(recordedSource([1, 2, 3, 4, 5], []))) seen.push(item);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('throws a read that failed while the consumer was busy where the consumer asks for that item', async () => {
    const log: string[] = [];
    const seen: number[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        (async () => {
          for await (const item of readAhead(recordedSource([1, 2, 3], log, 2))) {
            await new Promise((resolve) => setTimeout(resolve, 5));
            seen.push(item);
          }
        })(),
      ).rejects.toThrow('read 2 failed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(seen).toEqual([1]);
    expect(unhandled).toEqual([]);
  });

  it('waits for the read in flight and closes the source when the consumer stops early', async () => {
    const log: string[] = [];
    await expect(
      (async () => {
        for await (const item of readAhead(recordedSource([1, 2, 3], log))) {
          throw new Error(`write ${item} failed`);
        }
      })(),
    ).rejects.toThrow('write 1 failed');
    expect(log).toEqual(['read 1', 'read 2', 'source closed']);
  });
});

describe('mapBatches', () => {
  it('maps each item as it is read', async () => {
    const seen: string[] = [];
    for await (const item of mapBatches(recordedSource([1, 2], []), (n) => `#${n}`)) seen.push(item);
    expect(seen).toEqual(['#1', '#2']);
  });
});
