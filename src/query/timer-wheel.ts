/**
 * A timer of a TimerWheel: the object to call back (a waiter is its own timer, so that scheduling allocates no
 * closure) and the tick it is due in, which the wheel sets.
 */
export interface WheelTimer {
  due: number;
  fire(): void;
}

/**
 * Many timers on one interval: timers are kept in buckets by the tick they are due in, and one `setInterval` (running
 * only while a timer is pending) fires each bucket once its tick has passed. A timer fires never early, and at most two
 * ticks late (its tick ends, then the interval, whose phase is that of its start, fires up to a tick later). Ten thousand waiting reads cost one Node timer instead of ten thousand: a `setTimeout` is about 240 to
 * 380 bytes of heap (more when durations differ, each distinct duration getting a timer list of its own), a wheel
 * timer a Set slot (the timer is the caller's own object).
 */
export class TimerWheel {
  private readonly buckets = new Map<number, Set<WheelTimer>>();
  private ticker: NodeJS.Timeout | null = null;
  /** The first tick whose bucket has not fired yet. */
  private nextTick = 0;
  private pending = 0;

  constructor(
    private readonly tickMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.pending;
  }

  /**
   * Calls `timer.fire()` once `milliseconds` have passed (within two ticks after), unless cancelled first. A timer is
   * in one bucket at a time: schedule it again only once it fired or was cancelled.
   */
  schedule(milliseconds: number, timer: WheelTimer): void {
    if (this.ticker === null) {
      this.nextTick = Math.floor(this.now() / this.tickMs);
      this.ticker = setInterval(() => this.tick(), this.tickMs);
    }
    // Never into a bucket that has fired already (one being fired now included).
    const due = Math.max(Math.ceil((this.now() + milliseconds) / this.tickMs), this.nextTick);
    timer.due = due;
    let bucket = this.buckets.get(due);
    if (bucket === undefined) {
      bucket = new Set();
      this.buckets.set(due, bucket);
    }
    bucket.add(timer);
    this.pending++;
  }

  /** Makes sure `timer` does not fire; nothing when it fired or was cancelled already. */
  cancel(timer: WheelTimer): void {
    const bucket = this.buckets.get(timer.due);
    if (bucket === undefined || !bucket.delete(timer)) return;
    this.pending--;
    if (bucket.size === 0) this.buckets.delete(timer.due);
    this.stopWhenIdle();
  }

  private tick(): void {
    const current = Math.floor(this.now() / this.tickMs);
    while (this.nextTick <= current) {
      const tick = this.nextTick++;
      const bucket = this.buckets.get(tick);
      if (bucket === undefined) continue;
      this.buckets.delete(tick);
      this.pending -= bucket.size;
      for (const timer of bucket) timer.fire();
    }
    this.stopWhenIdle();
  }

  private stopWhenIdle(): void {
    if (this.pending > 0 || this.ticker === null) return;
    clearInterval(this.ticker);
    this.ticker = null;
  }
}
