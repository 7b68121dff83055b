/**
 * If-None-Match holds one or more entity tags, or `*`. Comparison is weak (RFC 9110 §13.1.2): a `W/` prefix is
 * ignored. The exact-match test first keeps the common case (a client echoing our ETag) free of parsing.
 */
export function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch === etag) return true;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag));
}
