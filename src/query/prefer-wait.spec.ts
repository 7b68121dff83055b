import { preferredWaitSeconds } from './prefer-wait';

describe('preferredWaitSeconds', () => {
  it.each([
    ['wait=10', 10],
    ['WAIT=10', 10],
    ['  wait = 7 ', 7],
    ['wait="12"', 12],
    ['respond-async, wait=5', 5],
    ['return=minimal; foo=bar, wait=3', 3],
    ['wait=4; custom=1', 4],
    ['wait=1, wait=9', 1],
    ['wait=61', 60],
    ['wait=99999999', 60],
  ])('reads %p as %p seconds (at most 60)', (prefer, seconds) => {
    expect(preferredWaitSeconds(prefer, 60)).toBe(seconds);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['no wait preference', 'respond-async, return=minimal'],
    ['wait without a value', 'wait'],
    ['wait=0', 'wait=0'],
    ['a negative wait', 'wait=-5'],
    ['a fractional wait', 'wait=1.5'],
    ['a wait in words', 'wait=ten'],
    ['a preference merely starting with wait', 'waiting=10'],
  ])('asks for no wait with %s', (_case, prefer) => {
    expect(preferredWaitSeconds(prefer, 60)).toBeNull();
  });
});
