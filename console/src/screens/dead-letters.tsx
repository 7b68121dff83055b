import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from '../api';

interface DeadLetter {
  messageId: string;
  accountId?: string;
  flowId?: string;
  errorCode: string;
  errorMessage: string;
  deadLetteredAt: string | number;
  receiveCount: number;
  body: string;
}

interface Job {
  jobId: string;
  kind: string;
  status: string;
  progress: Record<string, number>;
  startedAt: string;
  finishedAt: string | null;
  error?: string;
}

export function DeadLettersScreen() {
  const [filters, setFilters] = useState({ accountId: '', flowId: '', errorCode: '' });
  const [items, setItems] = useState<DeadLetter[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [inspected, setInspected] = useState<DeadLetter | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [followed, setFollowed] = useState<string | null>(null);

  async function search(from: string | null = null) {
    const query = new URLSearchParams({ limit: '50' });
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    if (from) query.set('cursor', from);
    const answer = await call<{ items: DeadLetter[]; nextCursor: string | null }>(
      'GET',
      `/admin/dead-letters?${query}`,
    );
    if (!answer.ok || !answer.body) return setMessage(describeError(answer));
    setItems(from ? [...(items ?? []), ...answer.body.items] : answer.body.items);
    setCursor(answer.body.nextCursor);
  }

  async function loadJobs() {
    const answer = await call<Job[]>('GET', '/admin/jobs');
    if (answer.ok && answer.body) setJobs(answer.body);
  }

  useEffect(() => {
    void search();
    void loadJobs();
    const timer = setInterval(() => void loadJobs(), 1500);
    return () => clearInterval(timer);
  }, []);

  async function redrive() {
    const answer = await call<{ jobId: string }>('POST', '/admin/dead-letters/redrive', {
      body: { messageIds: [...selected] },
    });
    if (answer.status === 202 && answer.body) {
      setFollowed(answer.body.jobId);
      setMessage(`Redrive job ${answer.body.jobId} started`);
      setSelected(new Set());
      await loadJobs();
    } else setMessage(describeError(answer));
  }

  const toggle = (messageId: string) => {
    const next = new Set(selected);
    if (next.has(messageId)) next.delete(messageId);
    else next.add(messageId);
    setSelected(next);
  };

  const followedJob = jobs.find((job) => job.jobId === followed);
  return (
    <section aria-labelledby="dead-letters-title">
      <h2 id="dead-letters-title">Dead letters</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
      >
        {(['accountId', 'flowId', 'errorCode'] as const).map((name) => (
          <span key={name}>
            <label for={`dl-${name}`}>{name}</label>
            <input
              id={`dl-${name}`}
              value={filters[name]}
              onInput={(event) => setFilters({ ...filters, [name]: (event.target as HTMLInputElement).value })}
            />
          </span>
        ))}
        <button type="submit">Search</button>
      </form>
      {message !== null && <p role="status">{message}</p>}
      {followedJob && (
        <p data-testid="followed-job">
          Job {followedJob.jobId}: {followedJob.status} — {formatProgress(followedJob.progress)}
          {followedJob.error && <span class="error"> {followedJob.error}</span>}
        </p>
      )}
      {items && (
        <div>
          <button type="button" disabled={selected.size === 0} onClick={() => void redrive()}>
            Redrive {selected.size} selected
          </button>
          <table>
            <caption>Dead letters, newest first ({items.length} shown)</caption>
            <thead>
              <tr>
                <th scope="col">select</th>
                <th scope="col">message</th>
                <th scope="col">error</th>
                <th scope="col">dead-lettered</th>
                <th scope="col">body</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && (
                <tr>
                  <td colSpan={5}>No dead letters</td>
                </tr>
              )}
              {items.map((item) => (
                <tr key={item.messageId}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`select ${item.messageId}`}
                      checked={selected.has(item.messageId)}
                      onChange={() => toggle(item.messageId)}
                    />
                  </td>
                  <td>
                    <code>{item.messageId}</code>
                    <div>
                      {item.accountId ?? '?'} / {item.flowId ?? '?'}
                    </div>
                  </td>
                  <td>
                    <strong>{item.errorCode}</strong>
                    <div>{item.errorMessage}</div>
                  </td>
                  <td>
                    {new Date(item.deadLetteredAt).toISOString()} ({item.receiveCount} receives)
                  </td>
                  <td>
                    <button type="button" onClick={() => setInspected(item)}>
                      Inspect {item.messageId.slice(0, 8)}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {cursor && (
            <button type="button" onClick={() => void search(cursor)}>
              More
            </button>
          )}
        </div>
      )}
      {inspected && (
        <div>
          <h3>Body of {inspected.messageId}</h3>
          <pre data-testid="dead-letter-body">{inspected.body}</pre>
          <button type="button" onClick={() => setInspected(null)}>
            Close
          </button>
        </div>
      )}
      <h2>Jobs</h2>
      <table>
        <caption>The last jobs, newest first</caption>
        <thead>
          <tr>
            <th scope="col">job</th>
            <th scope="col">kind</th>
            <th scope="col">status</th>
            <th scope="col">progress</th>
            <th scope="col">started</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.jobId}>
              <td>
                <code>{job.jobId}</code>
              </td>
              <td>{job.kind}</td>
              <td>{job.status}</td>
              <td>{formatProgress(job.progress)}</td>
              <td>{job.startedAt}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function formatProgress(progress: Record<string, number>): string {
  return Object.entries(progress)
    .map(([name, count]) => `${name} ${count}`)
    .join(', ');
}
