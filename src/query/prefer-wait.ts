/**
 * The seconds a `Prefer` header (RFC 7240) asks a read to wait, shortened to `maxSeconds`; null when it asks for no
 * wait (no header, no `wait` preference, a value that is not a whole number of seconds, or 0). Preferences are
 * comma separated, named case-insensitively, may carry `;` parameters, and the first `wait` counts.
 */
export function preferredWaitSeconds(prefer: string | undefined, maxSeconds: number): number | null {
  if (prefer === undefined) return null;
  for (const preference of prefer.split(',')) {
    const [nameAndValue] = preference.split(';');
    const separator = nameAndValue.indexOf('=');
    const name = (separator < 0 ? nameAndValue : nameAndValue.slice(0, separator)).trim().toLowerCase();
    if (name !== 'wait') continue;
    const value =
      separator < 0
        ? ''
        : nameAndValue
            .slice(separator + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1');
    if (!/^\d{1,10}$/.test(value)) return null;
    const seconds = Number(value);
    return seconds === 0 ? null : Math.min(seconds, maxSeconds);
  }
  return null;
}
