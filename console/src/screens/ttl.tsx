import { useState } from 'preact/hooks';
import { call, describeError } from '../api';

interface Policy {
  accountId: string;
  flowId: string | null;
  ttlSeconds: number | null;
  updatedAt: string;
}

interface Listing {
  accountId: string;
  account: Policy | null;
  flows: Policy[];
}

const policyPath = (accountId: string, flowId: string) =>
  `/admin/ttl-policies/accounts/${encodeURIComponent(accountId)}${flowId ? `/flows/${encodeURIComponent(flowId)}` : ''}`;

export function TtlScreen() {
  const [accountId, setAccountId] = useState('');
  const [listing, setListing] = useState<Listing | null>(null);
  const [flowId, setFlowId] = useState('');
  const [ttl, setTtl] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const [effective, setEffective] = useState<string | null>(null);

  async function list(account = accountId) {
    const answer = await call<Listing>('GET', `/admin/ttl-policies?accountId=${encodeURIComponent(account)}`);
    if (answer.ok) setListing(answer.body);
    else setMessage(describeError(answer));
  }

  async function save(event: Event) {
    event.preventDefault();
    const ttlSeconds = ttl.trim() === '' || ttl.trim() === 'never' ? null : Number(ttl);
    const answer = await call<Policy>('PUT', policyPath(accountId, flowId), { body: { ttlSeconds } });
    setMessage(answer.ok ? `Saved: ${describePolicy(answer.body)}` : describeError(answer));
    await list();
  }

  async function remove(policy: Policy) {
    const answer = await call('DELETE', policyPath(policy.accountId, policy.flowId ?? ''));
    setMessage(
      answer.status === 204 ? `Deleted the policy of ${policy.flowId ?? 'the account'}` : describeError(answer),
    );
    await list();
  }

  async function showEffective() {
    const query = `accountId=${encodeURIComponent(accountId)}&flowId=${encodeURIComponent(flowId)}`;
    const answer = await call<{ ttlSeconds: number | null; source: string }>(
      'GET',
      `/admin/ttl-policies/effective?${query}`,
    );
    setEffective(
      answer.ok && answer.body
        ? `${answer.body.ttlSeconds === null ? 'never expires' : `${answer.body.ttlSeconds} s`} (from the ${answer.body.source})`
        : describeError(answer),
    );
  }

  const policies = listing ? [...(listing.account ? [listing.account] : []), ...listing.flows] : [];
  return (
    <section aria-labelledby="ttl-title">
      <h2 id="ttl-title">TTL policies</h2>
      <form onSubmit={(event) => void save(event)}>
        <label for="ttl-account">Account</label>
        <input
          id="ttl-account"
          value={accountId}
          onInput={(event) => setAccountId((event.target as HTMLInputElement).value)}
        />
        <button type="button" onClick={() => void list()} disabled={accountId === ''}>
          List policies
        </button>
        <label for="ttl-flow">Flow (empty: the account's policy)</label>
        <input id="ttl-flow" value={flowId} onInput={(event) => setFlowId((event.target as HTMLInputElement).value)} />
        <label for="ttl-seconds">TTL in seconds (empty or "never": never expires)</label>
        <input id="ttl-seconds" value={ttl} onInput={(event) => setTtl((event.target as HTMLInputElement).value)} />
        <div class="buttons">
          <button type="submit" disabled={accountId === ''}>
            Save policy
          </button>
          <button type="button" disabled={accountId === ''} onClick={() => void showEffective()}>
            Effective TTL
          </button>
        </div>
      </form>
      {message !== null && <p role="status">{message}</p>}
      {effective !== null && <p data-testid="ttl-effective">Effective TTL: {effective}</p>}
      {listing && (
        <table>
          <caption>Policies of {listing.accountId}</caption>
          <thead>
            <tr>
              <th scope="col">flow</th>
              <th scope="col">TTL</th>
              <th scope="col">updated</th>
              <th scope="col">actions</th>
            </tr>
          </thead>
          <tbody>
            {policies.length === 0 && (
              <tr>
                <td colSpan={4}>No policy: the default TTL applies</td>
              </tr>
            )}
            {policies.map((policy) => (
              <tr key={policy.flowId ?? ''}>
                <td>{policy.flowId ?? '(account)'}</td>
                <td>{policy.ttlSeconds === null ? 'never' : `${policy.ttlSeconds} s`}</td>
                <td>{policy.updatedAt}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => {
                      setFlowId(policy.flowId ?? '');
                      setTtl(policy.ttlSeconds === null ? 'never' : String(policy.ttlSeconds));
                    }}
                  >
                    Edit {policy.flowId ?? 'account'}
                  </button>{' '}
                  <button type="button" onClick={() => void remove(policy)}>
                    Delete {policy.flowId ?? 'account'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function describePolicy(policy: Policy | null): string {
  if (policy === null) return '';
  return `${policy.accountId}/${policy.flowId ?? '(account)'} ${policy.ttlSeconds === null ? 'never expires' : `${policy.ttlSeconds} s`}`;
}
