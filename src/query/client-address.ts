/** What may stand for a client address: IPv4, IPv6 (with an IPv4 tail or a zone) and nothing else. */
const ADDRESS = /^[0-9A-Fa-f.:%]{2,64}$/;

/**
 * The address a client's reads are counted under (READ_MISS_LIMIT_PER_MINUTE): the socket's, or behind a proxy
 * (TRUST_PROXY) the left-most X-Forwarded-For entry, the address the first proxy saw. An entry that is not an
 * address falls back to the socket's: the counter key holds the address, so its text must stay short and plain.
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustProxy: boolean,
): string {
  const socket = socketAddress ?? 'unknown';
  if (!trustProxy || forwardedFor === undefined) return socket;
  const header = Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor;
  if (header === undefined) return socket;
  const comma = header.indexOf(',');
  const leftMost = (comma < 0 ? header : header.slice(0, comma)).trim();
  return ADDRESS.test(leftMost) ? leftMost : socket;
}
