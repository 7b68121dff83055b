import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from '../api';

interface Run {
  runId: string;
  status: string;
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  recordsArchived: number;
  policiesArchived: number;
  error?: string;
}

export function ArchiveScreen() {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [restoreAccount, setRestoreAccount] = useState('');
  const [restoreFlow, setRestoreFlow] = useState('');
  const [restored, setRestored] = useState<string | null>(null);

  async function load() {
    const answer = await call<Run[]>('GET', '/admin/archive/runs');
    if (answer.ok) setRuns(answer.body);
    else setMessage(describeError(answer));
  }

  useEffect(() => {
    void load();
    // A run in progress changes its counts and status: follow it.
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, []);

  async function start() {
    const answer = await call<{ runId: string }>('POST', '/admin/archive/runs');
    setMessage(answer.status === 202 && answer.body ? `Run ${answer.body.runId} started` : describeError(answer));
    await load();
  }

  async function restore(event: Event) {
    event.preventDefault();
    const body: Record<string, string> = {};
    if (restoreAccount) body.accountId = restoreAccount;
    if (restoreFlow) body.flowId = restoreFlow;
    const answer = await call<Record<string, number>>('POST', '/admin/archive/restore', { body });
    setRestored(
      answer.ok && answer.body
        ? Object.entries(answer.body)
            .map(([name, count]) => `${name} ${count}`)
            .join(', ')
        : describeError(answer),
    );
  }

  return (
    <section aria-labelledby="archive-title">
      <h2 id="archive-title">Archive</h2>
      <button type="button" onClick={() => void start()}>
        Start an archive run
      </button>
      {message !== null && <p role="status">{message}</p>}
      {runs && (
        <table>
          <caption>Archive runs, newest first</caption>
          <thead>
            <tr>
              <th scope="col">run</th>
              <th scope="col">status</th>
              <th scope="col">trigger</th>
              <th scope="col">records</th>
              <th scope="col">policies</th>
              <th scope="col">duration</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={run.runId}>
                <td>
                  <code>{run.runId}</code>
                  <div>{run.startedAt}</div>
                </td>
                <td data-testid="run-status">
                  {run.status}
                  {run.error && <div class="error">{run.error}</div>}
                </td>
                <td>{run.trigger}</td>
                <td>{run.recordsArchived}</td>
                <td>{run.policiesArchived}</td>
                <td>
                  {run.finishedAt
                    ? `${((Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1)} s`
                    : '…'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form onSubmit={(event) => void restore(event)}>
        <h3>Restore from the archive</h3>
        <label for="restore-account">Account (empty: all)</label>
        <input
          id="restore-account"
          value={restoreAccount}
          onInput={(event) => setRestoreAccount((event.target as HTMLInputElement).value)}
        />
        <label for="restore-flow">Flow (empty: all)</label>
        <input
          id="restore-flow"
          value={restoreFlow}
          onInput={(event) => setRestoreFlow((event.target as HTMLInputElement).value)}
        />
        <button type="submit">Restore</button>
      </form>
      {restored !== null && <p data-testid="restore-counts">Restore: {restored}</p>}
    </section>
  );
}
