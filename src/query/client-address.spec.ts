import { clientAddress } from './client-address';

describe('clientAddress', () => {
  it('is the socket address without TRUST_PROXY, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.0.0.9', '203.0.113.7', false)).toBe('10.0.0.9');
  });

  it('is the socket address with TRUST_PROXY but no X-Forwarded-For', () => {
    expect(clientAddress('10.0.0.9', undefined, true)).toBe('10.0.0.9');
  });

  it.each([
    ['one entry', '203.0.113.7', '203.0.113.7'],
    ['the left-most of several', '203.0.113.7, 10.0.0.2, 10.0.0.3', '203.0.113.7'],
    ['without spaces', '203.0.113.7,10.0.0.2', '203.0.113.7'],
    ['an IPv6 entry', '2001:db8::1, 10.0.0.2', '2001:db8::1'],
    ['an IPv4-mapped IPv6 entry', '::ffff:203.0.113.7', '::ffff:203.0.113.7'],
  ])('with TRUST_PROXY is the X-Forwarded-For entry: %s', (_case, header, expected) => {
    expect(clientAddress('10.0.0.9', header, true)).toBe(expected);
  });

  it('takes the first of repeated X-Forwarded-For headers', () => {
    expect(clientAddress('10.0.0.9', ['203.0.113.7, 10.0.0.2', '198.51.100.1'], true)).toBe('203.0.113.7');
  });

  it.each([
    ['an empty entry', ', 10.0.0.2'],
    ['a host name', 'client.example.com'],
    ['text meant to shape a Redis key', 'a b*c{slot}'],
    ['an overlong entry', '1'.repeat(100)],
  ])('falls back to the socket address for %s', (_case, header) => {
    expect(clientAddress('10.0.0.9', header, true)).toBe('10.0.0.9');
  });

  it('has a name for a socket whose address is gone', () => {
    expect(clientAddress(undefined, undefined, false)).toBe('unknown');
  });
});
