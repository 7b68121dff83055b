import { streamRangeEnd } from './audit-store';

describe('streamRangeEnd', () => {
  it('pages before a cursor, from the newest for none or one beyond 64 bits, and finds nothing before 0-0', () => {
    expect(streamRangeEnd(null)).toBe('+');
    expect(streamRangeEnd('1700000000000-3')).toBe('(1700000000000-3');
    expect(streamRangeEnd('99999999999999999999-0')).toBe('+');
    expect(streamRangeEnd('0-0')).toBeNull();
  });
});
