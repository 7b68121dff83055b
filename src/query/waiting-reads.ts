import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { RecordReader } from '../store/record-reader';
import { TimerWheel, WheelTimer } from './timer-wheel';

type WaitEnd = 'changed' | 'over';

/**
 * While changes are not being heard from every master (a tracking connection is being replaced, or the server
 * refuses CLIENT TRACKING), waiters read again this often instead: slower answers, never missed ones.
 */
const RECHECK_WHILE_DEAF_MS = 1000;
/** How late a wait may end after its time is up: the granularity of the waiters' one shared timer. */
const WAIT_TICK_MS = 50;

/**
 * The client of a waiting read: whether it has gone away, and a way to hear of it. For an HTTP read, a listener on
 * its response (clientOf in query.service.ts): lighter than an AbortController and its signal's listener, which were
 * about 1 KB of heap per waiter.
 */
export interface WaitingClient {
  readonly gone: boolean;
  /** Calls `listener` once the client goes away, until the returned function is called. */
  onGone(listener: () => void): () => void;
}

/**
 * Reads held open until their answer would differ from what the client has (Prefer: wait, batch-get waitSeconds).
 * A waiter is a callback registered with the RecordReader, which the store's invalidation channel calls when one of
 * its keys changes on any master (no Redis connection, command or poll per waiter), and a timer on one wheel that
 * all waiters share (a wait ends up to 2 × WAIT_TICK_MS after its time).
 *
 * A waiter ends when its keys change, its time is up, its client goes away (the connection closes: it is removed
 * at once), or the application stops (every waiter is answered as if its time were up, before the server closes).
 */
@Injectable()
export class WaitingReads implements OnModuleDestroy {
  private readonly waiting = new Set<(end: WaitEnd) => void>();
  private readonly timers = new TimerWheel(WAIT_TICK_MS);
  private readonly gauge: Gauge;
  private closing = false;

  constructor(
    private readonly reader: RecordReader,
    metrics: MetricsService,
  ) {
    this.gauge = metrics.queryWaiters;
  }

  get count(): number {
    return this.waiting.size;
  }

  /**
   * Reads with `read` until `unchanged` says the answer differs from what the client has, or `seconds` pass, or
   * `client` goes away; answers the last read. The keys are watched before the first read, so a change that lands
   * between that read and the wait still wakes it (no lost wake-up).
   */
  async until<T>(
    webhookKeys: string[],
    seconds: number,
    client: WaitingClient,
    read: () => Promise<T>,
    unchanged: (answer: T) => boolean,
  ): Promise<T> {
    if (this.closing || client.gone) return read();
    let changedSinceRead = false;
    let wake: ((end: WaitEnd) => void) | null = null;
    const stopWatching = this.reader.watch(webhookKeys, () => {
      changedSinceRead = true;
      wake?.('changed');
    });
    const deadline = Date.now() + seconds * 1000;
    try {
      let answer = await read();
      while (unchanged(answer)) {
        if (!changedSinceRead) {
          const end = await this.wait(deadline - Date.now(), client, (callback) => (wake = callback));
          wake = null;
          if (end === 'over') return answer;
        }
        changedSinceRead = false;
        answer = await read();
      }
      return answer;
    } finally {
      stopWatching();
    }
  }

  /** Answers every waiter as if its time were up, and makes later reads answer at once. */
  onModuleDestroy(): void {
    this.closing = true;
    for (const end of [...this.waiting]) end('over');
  }

  private wait(
    milliseconds: number,
    client: WaitingClient,
    register: (end: (end: WaitEnd) => void) => void,
  ): Promise<WaitEnd> {
    if (milliseconds <= 0 || this.closing || client.gone) return Promise.resolve('over');
    return new Promise<WaitEnd>((resolve) => {
      const finish = (end: WaitEnd) => {
        if (!this.waiting.delete(finish)) return;
        this.timers.cancel(timer);
        stopListening();
        this.gauge.dec();
        resolve(end);
      };
      const deaf = !this.reader.followingChanges && milliseconds > RECHECK_WHILE_DEAF_MS;
      const timer: WheelTimer = deaf
        ? this.timers.schedule(RECHECK_WHILE_DEAF_MS, () => finish('changed'))
        : this.timers.schedule(milliseconds, () => finish('over'));
      const stopListening = client.onGone(() => finish('over'));
      this.waiting.add(finish);
      this.gauge.inc();
      register(finish);
    });
  }
}
