import { TimerWheel } from './timer-wheel';

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
    wheel.schedule(250, () => fired.push('250'));
    wheel.schedule(1000, () => fired.push('1000'));
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
    const cancelled = wheel.schedule(200, () => fired.push('cancelled'));
    wheel.schedule(200, () => fired.push('kept'));
    wheel.cancel(cancelled);
    wheel.cancel(cancelled);
    expect(wheel.size).toBe(1);
    advance(300);
    expect(fired).toEqual(['kept']);
    expect(jest.getTimerCount()).toBe(0);
    const again = wheel.schedule(100, () => fired.push('again'));
    expect(jest.getTimerCount()).toBe(1);
    wheel.cancel(again);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('fires a timer scheduled by another one as it fires, on a later tick', () => {
    const wheel = new TimerWheel(100, now);
    const fired: string[] = [];
    wheel.schedule(100, () => {
      fired.push('first');
      wheel.schedule(1, () => fired.push('second'));
    });
    advance(100);
    expect(fired).toEqual(['first']);
    advance(100);
    expect(fired).toEqual(['first', 'second']);
  });

  it('fires every overdue bucket when the interval ran late', () => {
    const wheel = new TimerWheel(100, now);
    const fired: number[] = [];
    for (const milliseconds of [100, 300, 500]) wheel.schedule(milliseconds, () => fired.push(milliseconds));
    clock += 600; // the event loop was blocked: one interval callback for six ticks
    jest.advanceTimersByTime(100);
    expect(fired).toEqual([100, 300, 500]);
  });
});
