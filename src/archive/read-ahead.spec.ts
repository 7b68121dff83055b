import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import { fillBatches, mapBatches, readAhead } from './read-ahead';

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
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const item of readAhead(recordedSource([1, 2, 3], [], 2))) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          seen.push(item);
        }
      })(),
    ).rejects.toThrow('read 2 failed');
    expect(seen).toEqual([1]);
  });

  it('leaves no rejection unhandled meanwhile: Node would end the process (run in a node of its own, as Jest catches them)', () => {
    const script = `
      const { readAhead } = require(${JSON.stringify(join(__dirname, 'read-ahead.ts'))});
      async function* failing() { yield 1; await new Promise((r) => setImmediate(r)); throw new Error('read 2 failed'); }
      (async () => {
        try {
          for await (const item of readAhead(failing())) await new Promise((r) => setTimeout(r, 20));
        } catch (error) {
          console.log('caught: ' + error.message);
        }
      })();
    `;
    const output = execFileSync(
      process.execPath,
      ['--unhandled-rejections=throw', '-r', require.resolve('ts-node/register/transpile-only'), '-e', script],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(output.trim()).toBe('caught: read 2 failed');
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

describe('fillBatches', () => {
  async function* chunksOf(chunks: number[][]): AsyncGenerator<number[]> {
    for (const chunk of chunks) {
      await new Promise((resolve) => setImmediate(resolve));
      yield chunk;
    }
  }
  const collect = async (chunks: number[][], limits: { items: number; weight: number }) => {
    const batches: number[][] = [];
    for await (const batch of fillBatches(chunksOf(chunks), (item) => item, limits)) batches.push(batch);
    return batches;
  };

  it('joins small chunks up to the item limit', async () => {
    expect(await collect([[1, 1], [1, 1], [1]], { items: 3, weight: 100 })).toEqual([
      [1, 1, 1],
      [1, 1],
    ]);
  });

  it('closes a batch at the item that reaches the weight, splitting a chunk', async () => {
    expect(
      await collect(
        [
          [10, 50, 45, 5],
          [60, 1],
        ],
        { items: 100, weight: 100 },
      ),
    ).toEqual([
      [10, 50, 45],
      [5, 60, 1],
    ]);
  });

  it('keeps every item once, in order, each batch within its limits (below the weight but for its last item)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.nat({ max: 50 }), { maxLength: 20 }), { maxLength: 20 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 120 }),
        async (chunks, items, weight) => {
          const batches = await collect(chunks, { items, weight });
          expect(batches.flat()).toEqual(chunks.flat());
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(items);
            const allButLast = batch.slice(0, -1).reduce((total, item) => total + item, 0);
            expect(allButLast).toBeLessThan(weight);
          }
        },
      ),
    );
  });
});
