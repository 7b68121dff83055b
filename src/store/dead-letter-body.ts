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
  const listed = (parsed as { webhookKeys?: unknown } | null)?.webhookKeys;
  if (!Array.isArray(listed)) return body;
  const keys = [...new Set(listed.filter((key): key is string => typeof key === 'string' && key !== ''))];
  if (keys.length === 0) return body;
  // One pass over the text for every key at once (a message may name 1,000 keys in 256 KiB), each as written raw
  // and as JSON escapes `"` and `\` inside a string; longest first, so that no key's text is cut by a shorter one.
  const forms = [...new Set(keys.flatMap((key) => [key, JSON.stringify(key).slice(1, -1)]))];
  forms.sort((a, b) => b.length - a.length);
  const anyKey = new RegExp(forms.map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const kept = body.replace(anyKey, WITHHELD_KEY);
  // A key still there once parsed was written in a form the replacements did not meet (\u escapes, say): the
  // index keeps no body at all then.
  anyKey.lastIndex = 0;
  return anyKey.test(JSON.stringify(JSON.parse(kept))) ? WITHHELD_BODY : kept;
}

/** The body kept in place of one whose webhook keys could not all be replaced. */
export const WITHHELD_BODY = '"[body withheld: it names webhook keys in a form the dead-letter index cannot replace]"';
