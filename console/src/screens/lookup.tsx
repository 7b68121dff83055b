import { useEffect, useRef, useState } from 'preact/hooks';
import { call, describeError } from '../api';
import { prettyJson } from '../pretty';

interface Found {
  /** The answer's exact bytes. */
  text: string;
  document: { accountId: string; flowId: string; version: number | null; storedAt: string; expiresAt: string | null };
  etag: string | null;
}

/** Seconds a watching read waits per request (the service shortens it to READ_WAIT_MAX_SECONDS). */
const WATCH_SECONDS = 25;

export function LookupScreen() {
  const [key, setKey] = useState('');
  const [found, setFound] = useState<Found | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [watching, setWatching] = useState(false);
  const [updates, setUpdates] = useState(0);
  const [now, setNow] = useState(Date.now());
  const etag = useRef<string | null>(null);

  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const take = (answer: Awaited<ReturnType<typeof read>>) => {
    if (answer.status === 200) {
      etag.current = answer.headers.get('etag');
      setFound({ text: answer.text, document: answer.body as Found['document'], etag: etag.current });
      setMessage(null);
    } else if (answer.status === 404) {
      etag.current = null;
      setFound(null);
      setMessage('Not found: unknown, expired or deleted (404)');
    } else if (answer.status !== 304) {
      setMessage(describeError(answer));
    }
  };

  const read = (headers: Record<string, string> = {}, signal?: AbortSignal) =>
    call<unknown>('GET', '/v1/data', { anonymous: true, headers: { 'x-webhook-key': key, ...headers }, signal });

  useEffect(() => {
    if (!watching) return;
    const abort = new AbortController();
    void (async () => {
      while (!abort.signal.aborted) {
        const headers: Record<string, string> = { prefer: `wait=${WATCH_SECONDS}` };
        if (etag.current !== null) headers['if-none-match'] = etag.current;
        try {
          const answer = await read(headers, abort.signal);
          if (answer.status === 200) setUpdates((count) => count + 1);
          take(answer);
          // An error answer (429, 503) would otherwise loop at once.
          if (answer.status !== 200 && answer.status !== 304 && answer.status !== 404) {
            await new Promise((resolve) => setTimeout(resolve, 2000));
          }
        } catch {
          return;
        }
      }
    })();
    return () => abort.abort();
  }, [watching, key]);

  const dataText = found ? exactData(found.text) : '';
  return (
    <section aria-labelledby="lookup-title">
      <h2 id="lookup-title">Look up a webhook key</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void read().then(take);
        }}
      >
        <label for="lookup-key">Webhook key</label>
        <input
          id="lookup-key"
          value={key}
          autocomplete="off"
          onInput={(event) => setKey((event.target as HTMLInputElement).value)}
        />
        <button type="submit">Read</button>
        <label class="inline">
          <input
            type="checkbox"
            checked={watching}
            onChange={(event) => setWatching((event.target as HTMLInputElement).checked)}
          />
          Watch (waiting read, updates live)
        </label>
      </form>
      {watching && <p role="status">Watching: {updates} updates received</p>}
      {message !== null && <p class="error">{message}</p>}
      {found && (
        <div>
          <dl class="facts">
            <dt>account / flow</dt>
            <dd>
              {found.document.accountId} / {found.document.flowId}
            </dd>
            <dt>version</dt>
            <dd data-testid="lookup-version">{found.document.version ?? 'none'}</dd>
            <dt>storedAt</dt>
            <dd>{found.document.storedAt}</dd>
            <dt>expiresAt</dt>
            <dd data-testid="lookup-expires">
              {found.document.expiresAt === null
                ? 'never'
                : `${found.document.expiresAt} (${countdown(found.document.expiresAt, now)})`}
            </dd>
            <dt>ETag</dt>
            <dd>
              <code>{found.etag}</code>
            </dd>
          </dl>
          <h3>data (indented; every value exactly as stored)</h3>
          <pre data-testid="lookup-data">{prettyJson(dataText)}</pre>
          <details>
            <summary>Exact bytes of data ({new TextEncoder().encode(dataText).length} bytes)</summary>
            <pre data-testid="lookup-exact">{dataText}</pre>
          </details>
        </div>
      )}
    </section>
  );
}

/**
 * The producer's own text of `data`, cut from the answer: the service renders `{"accountId":..,"flowId":..,"data":`
 * then the data's text, then `,"version":` and two fixed-form fields, so the last `,"version":` ends the data.
 */
function exactData(text: string): string {
  const start = text.indexOf(',"data":');
  const end = text.lastIndexOf(',"version":');
  return start < 0 || end < start ? text : text.slice(start + ',"data":'.length, end);
}

function countdown(expiresAt: string, now: number): string {
  const seconds = Math.round((Date.parse(expiresAt) - now) / 1000);
  if (seconds <= 0) return 'expired';
  const days = Math.floor(seconds / 86400);
  const clock = new Date((seconds % 86400) * 1000).toISOString().slice(11, 19);
  return `expires in ${days > 0 ? `${days}d ` : ''}${clock}`;
}
