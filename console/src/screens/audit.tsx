import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from '../api';

interface Entry {
  at: string;
  actor: string;
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

export function AuditScreen() {
  const [entries, setEntries] = useState<Entry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  async function load(from: string | null = null) {
    const answer = await call<{ items: Entry[]; nextCursor: string | null }>(
      'GET',
      `/admin/audit?limit=50${from ? `&cursor=${encodeURIComponent(from)}` : ''}`,
    );
    if (!answer.ok || !answer.body) return setMessage(describeError(answer));
    setEntries(from ? [...entries, ...answer.body.items] : answer.body.items);
    setCursor(answer.body.nextCursor);
  }

  useEffect(() => void load(), []);

  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit of admin changes</h2>
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {message !== null && <p class="error">{message}</p>}
      <table>
        <caption>Newest first</caption>
        <thead>
          <tr>
            <th scope="col">at</th>
            <th scope="col">actor</th>
            <th scope="col">action</th>
            <th scope="col">target</th>
            <th scope="col">before → after</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((entry, index) => (
            <tr key={`${entry.at}-${index}`}>
              <td>{entry.at}</td>
              <td>{entry.actor}</td>
              <td>{entry.action}</td>
              <td>
                <code>{entry.target}</code>
              </td>
              <td>
                <code>{entry.before === undefined ? '—' : JSON.stringify(entry.before)}</code> →{' '}
                <code>{entry.after === undefined ? '—' : JSON.stringify(entry.after)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {cursor && (
        <button type="button" onClick={() => void load(cursor)}>
          Older entries
        </button>
      )}
    </section>
  );
}
