import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { KeyWatcher, RecordReader } from '../store/record-reader';
import { TimerWheel, WheelTimer } from './timer-wheel';

/**
 * While changes are not being heard from every master (a tracking connection is being replaced, or the server
 * refuses CLIENT TRACKING), waiters read again this often instead: slower answers, never missed ones.
 */
const RECHECK_WHILE_DEAF_MS = 1000;
/** How late a wait may end after its time is up: the granularity of the waiters' one shared timer. */
const WAIT_TICK_MS = 50;

/** What a waiting read reads, and whether an answer is still what the client has (then it waits on). */
export interface WaitedRead<T> {
  read(): Promise<T>;
  unchanged(answer: T): boolean;
}

/** What a waiting read's client tells it: that it went away. */
export interface ClientListener {
  clientGone(): void;
}

/**
 * The client of a waiting read: whether it has gone away, and a way to hear of it. For an HTTP read, a listener on
 * its response (ResponseClient in query.service.ts): lighter than an AbortController and its signal's listener, which
 * were about 1 KB of heap per waiter.
 */
export interface WaitingClient {
  readonly gone: boolean;
  /** Calls `listener.clientGone()` once the client goes away, until `forget` is called. One listener at a time. */
  listen(listener: ClientListener): void;
  forget(): void;
}

/**
 * Reads held open until their answer would differ from what the client has (Prefer: wait, batch-get waitSeconds).
 * A waiter is registered with the RecordReader, which the store's invalidation channel calls when one of its keys
 * changes on any master (no Redis connection, command or poll per waiter), and is a timer on one wheel that all
 * waiters share (a wait ends up to 2 × WAIT_TICK_MS after its time).
 *
 * A waiter ends when its keys change, its time is up, its client goes away (the connection closes: it is removed
 * at once), or the application stops (every waiter is answered as if its time were up, before the server closes).
 */
@Injectable()
export class WaitingReads implements OnModuleDestroy {
  /** @internal Waiter's: the waiters holding now (between two reads). */
  readonly waiting = new Set<Waiter<unknown>>();
  /** @internal Waiter's. */
  readonly timers = new TimerWheel(WAIT_TICK_MS);
  /** @internal Waiter's. */
  readonly gauge: Gauge;
  private closed = false;

  constructor(
    /** @internal Waiter's. */
    readonly reader: RecordReader,
    metrics: MetricsService,
  ) {
    this.gauge = metrics.queryWaiters;
  }

  get count(): number {
    return this.waiting.size;
  }

  /** Whether the application is stopping: waits end, and new ones answer at once. */
  get closing(): boolean {
    return this.closed;
  }

  /**
   * Reads with `waited.read` until `waited.unchanged` says the answer differs from what the client has, or `seconds` pass, or
   * `client` goes away; answers the last read. The keys are watched before the first read, so a change that lands
   * between that read and the wait still wakes it (no lost wake-up).
   */
  until<T>(webhookKeys: string[], seconds: number, client: WaitingClient, waited: WaitedRead<T>): Promise<T> {
    if (this.closed || client.gone) return waited.read();
    return new Promise<T>((resolve, reject) => {
      new Waiter<T>(this, Date.now() + seconds * 1000, client, waited, resolve, reject).start(webhookKeys);
    });
  }

  /** Answers every waiter as if its time were up, and makes later reads answer at once. */
  onModuleDestroy(): void {
    this.closed = true;
    for (const waiter of [...this.waiting]) waiter.over();
  }
}

/**
 * One waiting read, in one object: it is its own key watcher, wheel timer and client listener, so that holding it
 * allocates no closure, promise or async frame of its own (10,000 waiters: about 2.6 KB each as an async function
 * with closures, bench/RESULTS.md).
 *
 * Between reads it is `holding`: in the waiting set (and the gauge), on the wheel, listening to its client. A change
 * heard while a read is out is remembered (`changedSinceRead`) and makes it read again rather than hold.
 */
class Waiter<T> implements KeyWatcher, WheelTimer, ClientListener {
  due = 0;
  private recordKeys: string[] = [];
  private changedSinceRead = false;
  private holding = false;
  /** The wheel fires a deaf waiter to read again, not to end. */
  private deaf = false;
  private answer: T | undefined;

  constructor(
    private readonly owner: WaitingReads,
    private readonly deadline: number,
    private readonly client: WaitingClient,
    private readonly waited: WaitedRead<T>,
    private readonly resolve: (answer: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(webhookKeys: string[]): void {
    this.recordKeys = this.owner.reader.watch(webhookKeys, this);
    this.readAgain();
  }

  keysChanged(): void {
    this.changedSinceRead = true;
    if (this.release()) this.readAgain();
  }

  fire(): void {
    if (!this.release()) return;
    if (this.deaf) this.readAgain();
    else this.end();
  }

  clientGone(): void {
    if (this.release()) this.end();
  }

  /** The application is stopping: answer the last read now. */
  over(): void {
    if (this.release()) this.end();
  }

  private readAgain(): void {
    this.changedSinceRead = false;
    let reading: Promise<T>;
    try {
      reading = this.waited.read();
    } catch (error) {
      return this.fail(error);
    }
    reading.then(
      (answer) => {
        try {
          this.answered(answer);
        } catch (error) {
          this.fail(error);
        }
      },
      (error: unknown) => this.fail(error),
    );
  }

  /** A read failed (Redis unavailable): the wait ends with its error. */
  private fail(error: unknown): void {
    this.release();
    this.owner.reader.unwatch(this.recordKeys, this);
    this.reject(error);
  }

  private answered(answer: T): void {
    this.answer = answer;
    if (!this.waited.unchanged(answer)) return this.end();
    if (this.changedSinceRead) return this.readAgain();
    this.hold();
  }

  private hold(): void {
    const { owner, client } = this;
    const milliseconds = this.deadline - Date.now();
    if (milliseconds <= 0 || owner.closing || client.gone) return this.end();
    this.deaf = !owner.reader.followingChanges && milliseconds > RECHECK_WHILE_DEAF_MS;
    owner.timers.schedule(this.deaf ? RECHECK_WHILE_DEAF_MS : milliseconds, this);
    client.listen(this);
    owner.waiting.add(this as Waiter<unknown>);
    owner.gauge.inc();
    this.holding = true;
  }

  /** Stops holding; false when it was not (a wake-up that came second, or between reads). */
  private release(): boolean {
    if (!this.holding) return false;
    this.holding = false;
    const { owner } = this;
    owner.waiting.delete(this as Waiter<unknown>);
    owner.timers.cancel(this);
    this.client.forget();
    owner.gauge.dec();
    return true;
  }

  /** Answers the last read. */
  private end(): void {
    this.owner.reader.unwatch(this.recordKeys, this);
    this.resolve(this.answer as T);
  }
}
