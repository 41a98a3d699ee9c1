import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { NightshiftClient } from '../../src/client/client.js';
import { Link, navigate } from './components.js';
import { clientFor, identityOf, storeCredential, storedCredential, type Credential, type RuntimeConfig } from './session.js';
import { SignInPage, SignInCallbackPage } from './pages/sign-in.js';
import { TonightPage } from './pages/tonight.js';
import { NewTaskPage } from './pages/new-task.js';
import { TaskPage } from './pages/task.js';
import { BatchesPage, BatchPage } from './pages/batches.js';
import { ReportPage } from './pages/report.js';
import { QuotasPage } from './pages/quotas.js';
import { SettingsPage } from './pages/settings.js';
import { AdminPage } from './pages/admin.js';

export interface Session {
  config: RuntimeConfig;
  credential: Credential;
  client: NightshiftClient;
  userId: string | null;
  isAdmin: boolean;
}

const SessionContext = createContext<Session | null>(null);

/** The signed-in session; pages under the shell always have one. */
export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

function usePath(): string {
  const [path, setPath] = useState(window.location.pathname + window.location.search);
  useEffect(() => {
    const onChange = () => {
      setPath(window.location.pathname + window.location.search);
      window.scrollTo(0, 0);
    };
    window.addEventListener('popstate', onChange);
    return () => window.removeEventListener('popstate', onChange);
  }, []);
  return path;
}

interface Route {
  pattern: RegExp;
  title: string;
  render: (params: string[], query: URLSearchParams) => ComponentChildren;
  admin?: boolean;
}

const ROUTES: Route[] = [
  { pattern: /^\/$/, title: 'Tonight', render: () => <TonightPage /> },
  { pattern: /^\/tasks\/new$/, title: 'New task', render: () => <NewTaskPage /> },
  { pattern: /^\/tasks\/([^/]+)$/, title: 'Task', render: ([id]) => <TaskPage id={id ?? ''} /> },
  { pattern: /^\/batches$/, title: 'Batches', render: () => <BatchesPage /> },
  { pattern: /^\/batches\/([^/]+)$/, title: 'Batch', render: ([id]) => <BatchPage id={id ?? ''} /> },
  { pattern: /^\/batches\/([^/]+)\/report$/, title: 'Morning report', render: ([id], query) => <ReportPage id={id ?? ''} occurrence={query.get('occurrence') ?? undefined} /> },
  { pattern: /^\/quotas$/, title: 'Quotas', render: (_p, query) => <QuotasPage focusSpace={query.get('space') ?? undefined} /> },
  { pattern: /^\/settings$/, title: 'Settings', render: () => <SettingsPage /> },
  { pattern: /^\/admin$/, title: 'Admin', render: () => <AdminPage />, admin: true },
];

const NAV: Array<{ href: string; label: string; admin?: boolean }> = [
  { href: '/', label: 'Tonight' },
  { href: '/tasks/new', label: 'New task' },
  { href: '/batches', label: 'Batches' },
  { href: '/quotas', label: 'Quotas' },
  { href: '/settings', label: 'Settings' },
  { href: '/admin', label: 'Admin', admin: true },
];

export function App({ config }: { config: RuntimeConfig }) {
  const full = usePath();
  const [credential, setCredential] = useState<Credential | null>(() => storedCredential());
  const url = new URL(full, window.location.origin);
  const path = url.pathname;

  const signIn = (next: Credential) => {
    storeCredential(next);
    setCredential(next);
    navigate('/');
  };
  const signOut = () => {
    storeCredential(null);
    setCredential(null);
    navigate('/sign-in');
  };

  if (path === '/sign-in/callback') return <SignInCallbackPage config={config} onSignedIn={signIn} />;
  if (!credential || path === '/sign-in') {
    document.title = 'Sign in · Nightshift';
    return <SignInPage config={config} onSignedIn={signIn} />;
  }
  const identity = identityOf(credential);
  const session: Session = { config, credential, client: clientFor(config, credential), ...identity };
  const route = ROUTES.find((r) => r.pattern.test(path));
  const params = route ? (route.pattern.exec(path)?.slice(1) ?? []).map(decodeURIComponent) : [];
  document.title = `${route?.title ?? 'Not found'} · Nightshift`;

  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">🌙 Nightshift</span>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => !item.admin || session.isAdmin).map((item) => (
              <li key={item.href}>
                <Link href={item.href} class={path === item.href ? 'current' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {session.userId ? `Signed in as ${session.userId}` : 'Signed in with an API key'}
          {session.isAdmin ? ' (admin)' : ''}{' '}
          <button onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {!route ? (
          <h1>Page not found</h1>
        ) : route.admin && !session.isAdmin ? (
          <>
            <h1>Administrators only</h1>
            <p>This page is for administrators. Sign in with an admin account to use it.</p>
          </>
        ) : (
          route.render(params, url.searchParams)
        )}
      </main>
    </SessionContext.Provider>
  );
}
