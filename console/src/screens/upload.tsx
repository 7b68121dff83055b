import { useEffect, useRef, useState } from 'preact/hooks';
import { call, describeError, type Role } from '../api';
import { parseInWorker, type Schema } from '../parse';
import { loadMessageSchema } from '../schema';

type RowState = 'invalid' | 'ready' | 'sending' | 'accepted' | 'failed';

interface Row {
  label: string;
  text: string;
  /**
   * Sent as Idempotency-Key: a retry after a lost answer (the gateway may have queued it) is then not queued twice
   * (SQS drops it within 5 minutes). A new one with each edit, or SQS would drop the edited text as a repeat.
   */
  idempotencyKey: string;
  problems: string[];
  state: RowState;
  messageId?: string;
  error?: string;
  /** GET /v1/records/:messageId, once asked for. */
  status?: string;
}

/** Requests in flight at once: enough to keep the gateway busy, few enough not to starve the page's other calls. */
const CONCURRENCY = 6;
const PAGE = 50;

type Filter = 'problems' | 'all' | 'accepted';

export function UploadScreen({ role }: { role: Role }) {
  const rows = useRef<Row[]>([]);
  const [, setRevision] = useState(0);
  const frame = useRef<number | null>(null);
  const [schema, setSchema] = useState<Schema | null | undefined>(undefined);
  const [pasted, setPasted] = useState('');
  const [parsing, setParsing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | undefined>();
  const [sending, setSending] = useState(false);
  const [filter, setFilter] = useState<Filter>('problems');
  const [page, setPage] = useState(0);
  const [editing, setEditing] = useState<{ index: number; text: string } | null>(null);

  useEffect(() => {
    void loadMessageSchema().then(setSchema);
  }, []);

  /** Re-renders at most once a frame, however many answers arrive. */
  const refresh = () => {
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      setRevision((revision) => revision + 1);
    });
  };

  async function load(source: string | File, fileName: string) {
    rows.current = [];
    setProblem(undefined);
    setPage(0);
    setParsing('Checking…');
    refresh();
    try {
      const problemFound = await parseInWorker(
        { source, fileName, schema: schema ?? null },
        (messages, done, total) => {
          for (const message of messages) {
            rows.current.push({
              ...message,
              idempotencyKey: newIdempotencyKey(),
              state: message.problems.length > 0 ? 'invalid' : 'ready',
            });
          }
          setParsing(`Checked ${done} of ${total}`);
          refresh();
        },
      );
      setProblem(problemFound);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    }
    setParsing(null);
    refresh();
  }

  async function onFiles(files: FileList | null) {
    const file = files?.[0];
    if (file) await load(file, file.name);
  }

  async function send(which: RowState[]) {
    const queue = rows.current.flatMap((row, index) => (which.includes(row.state) ? [index] : []));
    setSending(true);
    const sendNext = async (): Promise<void> => {
      for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
        const row = rows.current[index];
        row.state = 'sending';
        refresh();
        const answer = await call<{ messageId: string }>('POST', '/v1/records', {
          body: row.text,
          headers: { 'idempotency-key': row.idempotencyKey },
        });
        if (answer.status === 202 && answer.body) {
          row.state = 'accepted';
          row.messageId = answer.body.messageId;
          row.error = undefined;
        } else {
          row.state = 'failed';
          row.error = describeError(answer);
        }
        refresh();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, sendNext));
    setSending(false);
  }

  async function showStatus(row: Row) {
    const answer = await call<MessageStatus>('GET', `/v1/records/${encodeURIComponent(row.messageId ?? '')}`);
    row.status =
      answer.status === 200 && answer.body
        ? summarizeStatus(answer.body)
        : answer.status === 404
          ? 'not decided yet (404)'
          : describeError(answer);
    refresh();
  }

  async function saveEdit() {
    if (editing === null) return;
    const row = rows.current[editing.index];
    const checked: string[][] = [];
    await parseInWorker({ source: editing.text, fileName: '', schema: schema ?? null }, (messages) =>
      checked.push(...messages.map((message) => message.problems)),
    );
    row.text = editing.text.trim();
    row.idempotencyKey = newIdempotencyKey();
    row.problems = checked.length === 1 ? checked[0] : ['the edit must hold exactly one message'];
    row.state = row.problems.length > 0 ? 'invalid' : 'ready';
    row.error = undefined;
    setEditing(null);
    refresh();
  }

  const all = rows.current;
  const count = (state: RowState) => all.reduce((sum, row) => sum + (row.state === state ? 1 : 0), 0);
  const counts = {
    invalid: count('invalid'),
    ready: count('ready'),
    sending: count('sending'),
    accepted: count('accepted'),
    failed: count('failed'),
  };
  const sendable = all.length - counts.invalid;
  const finished = counts.accepted + counts.failed;
  const shown = all
    .map((row, index) => ({ row, index }))
    .filter(({ row }) =>
      filter === 'all'
        ? true
        : filter === 'accepted'
          ? row.state === 'accepted'
          : row.state === 'invalid' || row.state === 'failed',
    );
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  const pageRows = shown.slice(page * PAGE, page * PAGE + PAGE);

  return (
    <section aria-labelledby="upload-title">
      <h2 id="upload-title">Upload messages</h2>
      {role === 'admin' && (
        <p class="note">Sending needs a producer key (bound to its account); with an admin key you can check files.</p>
      )}
      <p class="note" data-testid="schema-state">
        {schema === undefined
          ? 'Loading the message schema…'
          : schema === null
            ? 'This process does not publish the message schema: messages are checked by the service only.'
            : 'Each message is checked here against the JSON Schema the service publishes (/docs-json), then by the service.'}
      </p>
      <div
        class="drop"
        onDragOver={(event) => event.preventDefault()}
        onDrop={(event) => {
          event.preventDefault();
          void onFiles(event.dataTransfer?.files ?? null);
        }}
      >
        <label for="upload-file">Drop or choose a .json (one message or an array) or .ndjson file</label>
        <input
          id="upload-file"
          type="file"
          accept=".json,.ndjson,application/json"
          disabled={schema === undefined}
          onChange={(event) => void onFiles((event.target as HTMLInputElement).files)}
        />
      </div>
      <label for="upload-paste">Or paste messages (one JSON message, an array, or one message per line)</label>
      <textarea
        id="upload-paste"
        rows={5}
        value={pasted}
        onInput={(event) => setPasted((event.target as HTMLTextAreaElement).value)}
      />
      <button
        type="button"
        disabled={schema === undefined || pasted.trim() === ''}
        onClick={() => void load(pasted, '')}
      >
        Check pasted messages
      </button>

      {parsing !== null && <p role="status">{parsing}</p>}
      {problem !== undefined && <p class="error">{problem}</p>}
      {all.length > 0 && (
        <div class="summary">
          <p data-testid="upload-counts">
            {all.length} messages: {counts.invalid} invalid, {counts.accepted} accepted, {counts.failed} refused,{' '}
            {counts.ready + counts.sending} to send
          </p>
          <label for="upload-progress">Sent</label>{' '}
          <progress id="upload-progress" max={Math.max(1, sendable)} value={finished} /> {finished}/{sendable}
          <div class="buttons">
            <button type="button" disabled={sending || counts.ready === 0} onClick={() => void send(['ready'])}>
              Send {counts.ready} messages
            </button>
            <button type="button" disabled={sending || counts.failed === 0} onClick={() => void send(['failed'])}>
              Retry {counts.failed} refused
            </button>
          </div>
          <label for="upload-filter">Show</label>{' '}
          <select
            id="upload-filter"
            value={filter}
            onChange={(event) => {
              setFilter((event.target as HTMLSelectElement).value as Filter);
              setPage(0);
            }}
          >
            <option value="problems">invalid and refused</option>
            <option value="accepted">accepted</option>
            <option value="all">all</option>
          </select>
          <table>
            <caption>
              Messages{' '}
              {shown.length === 0 ? '(none)' : `${page * PAGE + 1}–${page * PAGE + pageRows.length} of ${shown.length}`}
            </caption>
            <thead>
              <tr>
                <th scope="col">message</th>
                <th scope="col">result</th>
                <th scope="col">actions</th>
              </tr>
            </thead>
            <tbody>
              {pageRows.map(({ row, index }) => (
                <tr key={index} data-state={row.state}>
                  <td>
                    <div>{row.label}</div>
                    <code class="clip">{row.text.slice(0, 160)}</code>
                  </td>
                  <td>
                    <ResultCell row={row} />
                  </td>
                  <td>
                    {(row.state === 'invalid' || row.state === 'failed') && (
                      <button type="button" onClick={() => setEditing({ index, text: row.text })}>
                        Edit {row.label}
                      </button>
                    )}
                    {row.state === 'accepted' && (
                      <button type="button" onClick={() => void showStatus(row)}>
                        Status of {row.label}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {pages > 1 && (
            <div class="buttons">
              <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
                Previous page
              </button>
              <span>
                page {page + 1} of {pages}
              </span>
              <button type="button" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
                Next page
              </button>
            </div>
          )}
        </div>
      )}
      {editing !== null && (
        <div class="editor">
          <label for="upload-edit">Edit {rows.current[editing.index]?.label}</label>
          <textarea
            id="upload-edit"
            rows={6}
            value={editing.text}
            onInput={(event) => setEditing({ ...editing, text: (event.target as HTMLTextAreaElement).value })}
          />
          <div class="buttons">
            <button type="button" onClick={() => void saveEdit()}>
              Check and keep
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

function ResultCell({ row }: { row: Row }) {
  switch (row.state) {
    case 'invalid':
      return (
        <ul class="problems">
          {row.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      );
    case 'failed':
      return <span class="error">{row.error}</span>;
    case 'accepted':
      return (
        <span>
          202 <code>{row.messageId}</code>
          {row.status !== undefined && <div data-testid="message-status">{row.status}</div>}
        </span>
      );
    default:
      return <span>{row.state}</span>;
  }
}

/** GET /v1/records/:messageId's answer. */
interface MessageStatus {
  status: string;
  keys: { applied: number; stale: number; foreign: number };
  errorCode?: string;
  errorMessage?: string;
}

function summarizeStatus({ status, keys, errorCode, errorMessage }: MessageStatus): string {
  const parts = [status, `keys applied ${keys.applied}, stale ${keys.stale}, foreign ${keys.foreign}`];
  if (errorCode) parts.push(`${errorCode}: ${errorMessage ?? ''}`);
  return parts.join(' · ');
}

/** 128 random bits in hex. crypto.getRandomValues, unlike randomUUID, works on a plain-HTTP origin too. */
function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}
