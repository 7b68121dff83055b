/** What stands for a webhook key in the body the dead-letter index keeps. */
export const WITHHELD_KEY = '[webhook key]';

/**
 * The body of a dead letter as the dead-letter index keeps it (for the admin routes to show): every webhook key the
 * message names is replaced, wherever it occurs, because Redis never holds a webhook key in clear. The text around
 * the keys, `data` included, is left byte for byte. The dead-letter queue keeps the exact body, and a redrive sends
 * that one. A body that is not a JSON object with `webhookKeys` names no key this service could tell apart, and is
 * kept as it is.
 */
export function withoutWebhookKeys(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  const keys = (parsed as { webhookKeys?: unknown } | null)?.webhookKeys;
  if (!Array.isArray(keys)) return body;
  let kept = body;
  for (const key of keys) {
    if (typeof key !== 'string' || key === '') continue;
    // The key as JSON writes it, then as written in any other way (escapes) or anywhere else in the text.
    kept = kept.split(JSON.stringify(key)).join(JSON.stringify(WITHHELD_KEY));
    kept = kept.split(key).join(WITHHELD_KEY);
  }
  // A key still there once parsed was written in a form the replacements did not meet (\u escapes, say): the
  // index keeps no body at all then.
  const decoded = JSON.stringify(JSON.parse(kept));
  if (keys.some((key) => typeof key === 'string' && key !== '' && decoded.includes(key))) return WITHHELD_BODY;
  return kept;
}

/** The body kept in place of one whose webhook keys could not all be replaced. */
export const WITHHELD_BODY = '"[body withheld: it names webhook keys in a form the dead-letter index cannot replace]"';
