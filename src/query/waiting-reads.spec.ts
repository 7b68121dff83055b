import { MetricsService } from '../metrics/metrics.service';
import { KeyWatcher, RecordReader } from '../store/record-reader';
import { ClientListener, WaitingClient, WaitingReads } from './waiting-reads';

/** The part of RecordReader a waiter uses: watches whose watchers the test wakes as Redis invalidations would. */
class FakeChanges {
  readonly watchers = new Set<KeyWatcher>();
  followingChanges = true;

  watch(keys: string[], watcher: KeyWatcher): string[] {
    this.watchers.add(watcher);
    return keys;
  }

  unwatch(_recordKeys: string[], watcher: KeyWatcher): void {
    this.watchers.delete(watcher);
  }

  change(): void {
    for (const watcher of [...this.watchers]) watcher.keysChanged();
  }
}

function setUp(): { waits: WaitingReads; changes: FakeChanges; metrics: MetricsService } {
  const changes = new FakeChanges();
  const metrics = new MetricsService();
  return { waits: new WaitingReads(changes as unknown as RecordReader, metrics), changes, metrics };
}

/** A client the test sends away; `listeners` shows whether a waiter still listens for it. */
class FakeClient implements WaitingClient {
  gone = false;
  readonly listeners = new Set<ClientListener>();
  private current: ClientListener | null = null;

  listen(listener: ClientListener): void {
    this.forget();
    this.current = listener;
    this.listeners.add(listener);
  }

  forget(): void {
    if (this.current !== null) this.listeners.delete(this.current);
    this.current = null;
  }

  goAway(): void {
    this.gone = true;
    for (const listener of [...this.listeners]) listener.clientGone();
  }
}

const unchanged = (answer: string) => answer === 'old';
const never = new FakeClient();

describe('WaitingReads', () => {
  it('reads again when a change lands while the first read is in flight (no lost wake-up)', async () => {
    const { waits, changes } = setUp();
    const answers = ['old', 'new'];
    let reads = 0;
    const read = async () => {
      const answer = answers[reads++];
      // The change lands after Redis answered the first read, before the waiter started waiting.
      if (reads === 1) changes.change();
      return Promise.resolve(answer);
    };
    const startedAt = Date.now();
    await expect(waits.until(['k'], 5, never, { read, unchanged })).resolves.toBe('new');
    expect(reads).toBe(2);
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });

  it('keeps waiting after a wake-up that changed nothing, and answers the last read when the time is up', async () => {
    const { waits, changes } = setUp();
    let reads = 0;
    const read = () => {
      reads++;
      return Promise.resolve('old');
    };
    const pending = waits.until(['k'], 1, never, { read, unchanged });
    await new Promise((resolve) => setTimeout(resolve, 100));
    changes.change();
    const startedAt = Date.now();
    await expect(pending).resolves.toBe('old');
    expect(reads).toBe(2);
    expect(Date.now() - startedAt).toBeGreaterThan(700);
    expect(changes.watchers.size).toBe(0);
  });

  it('counts a waiter in the gauge while it waits, and frees it at once when its client goes away', async () => {
    const { waits, changes, metrics } = setUp();
    const client = new FakeClient();
    const pending = waits.until(['k'], 30, client, { read: () => Promise.resolve('old'), unchanged });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await metrics.queryWaiters.get()).values[0].value).toBe(1);
    client.goAway();
    await expect(pending).resolves.toBe('old');
    expect((await metrics.queryWaiters.get()).values[0].value).toBe(0);
    expect(changes.watchers.size).toBe(0);
    expect(client.listeners.size).toBe(0);
  });

  it('answers every waiter when the module is destroyed, and later reads without waiting', async () => {
    const { waits } = setUp();
    const pending = [1, 2, 3].map(() =>
      waits.until(['k'], 30, never, { read: () => Promise.resolve('old'), unchanged }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(waits.count).toBe(3);
    waits.onModuleDestroy();
    await expect(Promise.all(pending)).resolves.toEqual(['old', 'old', 'old']);
    const startedAt = Date.now();
    await waits.until(['k'], 30, never, { read: () => Promise.resolve('old'), unchanged });
    expect(Date.now() - startedAt).toBeLessThan(100);
  });

  it('reads again every second while changes are not being heard', async () => {
    const { waits, changes } = setUp();
    changes.followingChanges = false;
    const answers = ['old', 'old', 'new'];
    let reads = 0;
    const startedAt = Date.now();
    await expect(
      waits.until(['k'], 10, never, { read: () => Promise.resolve(answers[reads++]), unchanged }),
    ).resolves.toBe('new');
    expect(reads).toBe(3);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - startedAt).toBeLessThan(3500);
  });

  it('ends with the error of a read that fails after a wake-up, and watches nothing more', async () => {
    const { waits, changes, metrics } = setUp();
    let reads = 0;
    const read = () => (reads++ === 0 ? Promise.resolve('old') : Promise.reject(new Error('redis unavailable')));
    const pending = waits.until(['k'], 30, never, { read, unchanged });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(waits.count).toBe(1);
    changes.change();
    await expect(pending).rejects.toThrow('redis unavailable');
    expect(waits.count).toBe(0);
    expect(changes.watchers.size).toBe(0);
    expect((await metrics.queryWaiters.get()).values[0].value).toBe(0);
  });
});
