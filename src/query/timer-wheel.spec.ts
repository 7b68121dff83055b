import { TimerWheel, WheelTimer } from './timer-wheel';

/** A timer that calls `fire`. */
const timer = (fire: () => void): WheelTimer => ({ due: 0, fire });

describe('TimerWheel', () => {
  let clock = 0;
  const now = () => clock;
  /** Moves the wheel's clock and Node's (fake) timers on together. */
  const advance = (milliseconds: number) => {
    clock += milliseconds;
    jest.advanceTimersByTime(milliseconds);
  };

  beforeEach(() => {
    clock = 1_000_000;
    jest.useFakeTimers();
  });

  afterEach(() => jest.useRealTimers());

  it('fires each timer once its time has passed, within two ticks and never early', () => {
    const wheel = new TimerWheel(100, now);
    const fired: string[] = [];
    wheel.schedule(
      250,
      timer(() => fired.push('250')),
    );
    wheel.schedule(
      1000,
      timer(() => fired.push('1000')),
    );
    advance(200);
    expect(fired).toEqual([]);
    advance(100); // 300 ms: past 250, within the tick after it
    expect(fired).toEqual(['250']);
    advance(600);
    expect(fired).toEqual(['250']);
    advance(100);
    expect(fired).toEqual(['250', '1000']);
    expect(wheel.size).toBe(0);
  });

  it('never fires a cancelled timer, and holds no Node timer while nothing is pending', () => {
    const wheel = new TimerWheel(100, now);
    const fired: string[] = [];
    const cancelled = timer(() => fired.push('cancelled'));
    wheel.schedule(200, cancelled);
    wheel.schedule(
      200,
      timer(() => fired.push('kept')),
    );
    wheel.cancel(cancelled);
    wheel.cancel(cancelled);
    expect(wheel.size).toBe(1);
    advance(300);
    expect(fired).toEqual(['kept']);
    expect(jest.getTimerCount()).toBe(0);
    const again = timer(() => fired.push('again'));
    wheel.schedule(100, again);
    expect(jest.getTimerCount()).toBe(1);
    wheel.cancel(again);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fires a timer scheduled by another one as it fires, on a later tick', () => {
    const wheel = new TimerWheel(100, now);
    const fired: string[] = [];
    wheel.schedule(
      100,
      timer(() => {
        fired.push('first');
        wheel.schedule(
          1,
          timer(() => fired.push('second')),
        );
      }),
    );
    advance(100);
    expect(fired).toEqual(['first']);
    advance(100);
    expect(fired).toEqual(['first', 'second']);
  });

  it('fires every overdue bucket when the interval ran late', () => {
    const wheel = new TimerWheel(100, now);
    const fired: number[] = [];
    for (const milliseconds of [100, 300, 500])
      wheel.schedule(
        milliseconds,
        timer(() => fired.push(milliseconds)),
      );
    clock += 600; // the event loop was blocked: one interval callback for six ticks
    jest.advanceTimersByTime(100);
    expect(fired).toEqual([100, 300, 500]);
  });

  it('fires a timer scheduled again after it fired or was cancelled once, at its new time', () => {
    const wheel = new TimerWheel(100, now);
    let fired = 0;
    const reused = timer(() => fired++);
    wheel.schedule(100, reused);
    advance(200);
    expect(fired).toBe(1);
    wheel.schedule(500, reused);
    wheel.cancel(reused);
    wheel.schedule(300, reused);
    expect(wheel.size).toBe(1);
    advance(400);
    expect(fired).toBe(2);
    advance(1000);
    expect(fired).toBe(2);
    expect(wheel.size).toBe(0);
  });
});
