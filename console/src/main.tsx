import { render } from 'preact';
import { useState } from 'preact/hooks';
import { forgetKey, roleOf, storedKey, storeKey, type Role } from './api';
import { ArchiveScreen } from './screens/archive';
import { AuditScreen } from './screens/audit';
import { ChartsScreen } from './screens/charts';
import { DeadLettersScreen } from './screens/dead-letters';
import { LookupScreen } from './screens/lookup';
import { TtlScreen } from './screens/ttl';
import { UploadScreen } from './screens/upload';

type ScreenName = 'upload' | 'lookup' | 'ttl' | 'archive' | 'dead-letters' | 'audit' | 'charts';

const SCREENS: Array<{ name: ScreenName; title: string; roles: Role[] }> = [
  { name: 'upload', title: 'Upload', roles: ['producer', 'admin'] },
  { name: 'lookup', title: 'Look up a key', roles: ['admin'] },
  { name: 'ttl', title: 'TTL policies', roles: ['admin'] },
  { name: 'archive', title: 'Archive', roles: ['admin'] },
  { name: 'dead-letters', title: 'Dead letters and jobs', roles: ['admin'] },
  { name: 'audit', title: 'Audit', roles: ['admin'] },
  { name: 'charts', title: 'Live metrics', roles: ['admin'] },
];

function App({ initialRole }: { initialRole: Role | null }) {
  const [role, setRole] = useState<Role | null>(initialRole);
  const [screen, setScreen] = useState<ScreenName>('upload');
  if (role === null) return <SignIn onSignedIn={setRole} />;
  const visible = SCREENS.filter((entry) => entry.roles.includes(role));
  return (
    <div>
      <header>
        <h1>setGetApi console</h1>
        <span data-testid="signed-in-as">signed in with {role === 'admin' ? 'an admin' : 'a producer'} key</span>
        <button
          type="button"
          onClick={() => {
            forgetKey();
            setRole(null);
          }}
        >
          Sign out
        </button>
      </header>
      <nav aria-label="Screens">
        {visible.map((entry) => (
          <button
            type="button"
            key={entry.name}
            aria-current={entry.name === screen ? 'page' : undefined}
            onClick={() => setScreen(entry.name)}
          >
            {entry.title}
          </button>
        ))}
      </nav>
      <main>
        {screen === 'upload' && <UploadScreen role={role} />}
        {role === 'admin' && screen === 'lookup' && <LookupScreen />}
        {role === 'admin' && screen === 'ttl' && <TtlScreen />}
        {role === 'admin' && screen === 'archive' && <ArchiveScreen />}
        {role === 'admin' && screen === 'dead-letters' && <DeadLettersScreen />}
        {role === 'admin' && screen === 'audit' && <AuditScreen />}
        {role === 'admin' && screen === 'charts' && <ChartsScreen />}
      </main>
    </div>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (role: Role) => void }) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main>
      <h1>setGetApi console</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          void roleOf(key).then((found) => {
            setBusy(false);
            if ('role' in found) {
              storeKey(key);
              onSignedIn(found.role);
            } else setProblem(found.problem);
          });
        }}
      >
        <label for="api-key">API key (an admin key, or a producer key for its account's uploads)</label>
        <input
          id="api-key"
          type="password"
          autocomplete="off"
          value={key}
          onInput={(event) => setKey((event.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy || key === ''}>
          Sign in
        </button>
        <p class="note">The key is kept in this tab's session storage only, and sent only to this service.</p>
        {problem !== null && (
          <p class="error" role="alert">
            {problem}
          </p>
        )}
      </form>
    </main>
  );
}

async function start() {
  const key = storedKey();
  let role: Role | null = null;
  if (key !== null) {
    const found = await roleOf(key);
    if ('role' in found) role = found.role;
    else forgetKey();
  }
  const root = document.getElementById('app')!;
  root.textContent = '';
  render(<App initialRole={role} />, root);
}

void start();
