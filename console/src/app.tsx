import { type ReactNode, useCallback, useEffect, useMemo, useState } from 'react';
import { type ApiError, asApiError, graphql } from './api/client';
import { ME, type Me, type MeResult, type Role } from './api/operations';
import { Loading } from './components/error-message';
import { AuditPage } from './pages/audit-page';
import { DatasetPage } from './pages/dataset-page';
import { DatasetsPage } from './pages/datasets-page';
import { LedgerPage } from './pages/ledger-page';
import { ModelsPage } from './pages/models-page';
import { NotFoundPage } from './pages/not-found';
import { ReleaseFormPage } from './pages/release-form-page';
import { ReleasePage } from './pages/release-page';
import { ReleasesPage } from './pages/releases-page';
import { SignInPage } from './pages/sign-in';
import { Link, matchRoute, navigate, usePath } from './router';
import { type Session, SessionContext, storedToken, storeToken } from './session';

const roleNames: Record<Role, string> = { OPERATOR: 'platform operator', ADMIN: 'organisation admin', DATA_OWNER: 'data owner', CONSUMER: 'consumer', COMPLIANCE: 'compliance' };

/**
 * What each role is offered. This is navigation only: the gateway decides what each role may
 * read, and a page opened by a role that may not see it shows the API's refusal.
 */
const navigation: Record<Role, { to: string; label: string }[]> = {
  DATA_OWNER: [
    { to: '/datasets', label: 'Datasets' },
    { to: '/releases', label: 'Releases' },
    { to: '/models', label: 'Models' },
  ],
  CONSUMER: [{ to: '/releases', label: 'Releases' }],
  COMPLIANCE: [
    { to: '/ledger', label: 'Ledgers' },
    { to: '/releases', label: 'Releases' },
    { to: '/audit', label: 'Audit log' },
  ],
  ADMIN: [{ to: '/audit', label: 'Audit log' }],
  OPERATOR: [{ to: '/audit', label: 'Audit log' }],
};

function Routes({ path, role }: { path: string; role: Role }) {
  if (path === '/') {
    const home = navigation[role][0]?.to ?? '/releases';
    return <Redirect to={home} />;
  }
  const routes: [string, (params: Record<string, string>) => ReactNode][] = [
    ['/datasets', () => <DatasetsPage />],
    ['/datasets/:id', ({ id }) => <DatasetPage key={id} id={id!} />],
    ['/datasets/:id/release', ({ id }) => <ReleaseFormPage key={id} datasetId={id!} />],
    ['/releases', () => <ReleasesPage />],
    ['/releases/:id', ({ id }) => <ReleasePage key={id} id={id!} />],
    ['/ledger', () => <DatasetsPage ledgerLinks />],
    ['/ledger/:id', ({ id }) => <LedgerPage key={id} datasetId={id!} />],
    ['/audit', () => <AuditPage />],
    ['/models', () => <ModelsPage />],
  ];
  for (const [pattern, render] of routes) {
    const params = matchRoute(pattern, path);
    if (params) return <>{render(params)}</>;
  }
  return <NotFoundPage path={path} />;
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Shell({ session, path }: { session: Session; path: string }) {
  const { me } = session;
  const links = navigation[me.role];
  return (
    <>
      <header className="top">
        <div className="brand">
          <Link to="/">Synthgate</Link> <span className="muted">console</span>
        </div>
        <nav aria-label="Main">
          <ul>
            {links.map((link) => {
              const current = path === link.to || path.startsWith(`${link.to}/`);
              return (
                <li key={link.to}>
                  <Link to={link.to} aria-current={current ? 'page' : undefined}>
                    {link.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="who">
          <span>
            {me.displayName || me.email} · <span data-testid="role">{roleNames[me.role]}</span>
            {me.organization ? ` · ${me.organization.name}` : ''}
          </span>
          <button type="button" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Routes path={path} role={me.role} />
      </main>
    </>
  );
}

export function App() {
  const path = usePath();
  const [session, setSession] = useState<{ token: string; me: Me } | null>(null);
  const [checking, setChecking] = useState(() => storedToken() !== null);
  const [error, setError] = useState<ApiError | null>(null);

  const signIn = useCallback(async (token: string) => {
    setChecking(true);
    setError(null);
    try {
      const { me } = await graphql<MeResult>(token, ME);
      storeToken(token);
      setSession({ token, me });
    } catch (reason) {
      storeToken(null);
      setSession(null);
      setError(asApiError(reason));
    } finally {
      setChecking(false);
    }
  }, []);

  // A token kept from earlier in this tab signs in again after a reload.
  useEffect(() => {
    const token = storedToken();
    if (token) void signIn(token);
  }, [signIn]);

  const signOut = useCallback(() => {
    storeToken(null);
    setSession(null);
    setError(null);
    navigate('/', { replace: true });
  }, []);

  const value = useMemo<Session | null>(() => (session ? { ...session, signOut } : null), [session, signOut]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      {value ? (
        <SessionContext.Provider value={value}>
          <Shell session={value} path={path} />
        </SessionContext.Provider>
      ) : checking && !error && storedToken() ? (
        <main id="main">
          <Loading what="your account" />
        </main>
      ) : (
        <main id="main">
          <SignInPage onSignIn={(token) => void signIn(token)} busy={checking} error={error} />
        </main>
      )}
    </>
  );
}
