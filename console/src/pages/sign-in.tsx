import { type FormEvent, useState } from 'react';
import { type ApiError } from '../api/client';
import { ErrorMessage } from '../components/error-message';
import { PageTitle } from '../components/page-title';

/**
 * Sign in with an API token (`synthgate token create`, or from an admin). The form posts nowhere:
 * the token goes to the gateway in the Authorization header, never into a URL.
 */
export function SignInPage({ onSignIn, busy, error }: { onSignIn(token: string): void; busy: boolean; error: ApiError | null }) {
  const [token, setToken] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (trimmed) onSignIn(trimmed);
  };
  return (
    <div className="sign-in">
      <PageTitle title="Sign in">Sign in to the Synthgate console</PageTitle>
      <p>
        Use an API token of your Synthgate account. The console shows what your role may see: data owners their datasets,
        budgets and releases; consumers the releases published to their organisation; compliance the ledgers and the audit log.
      </p>
      <form onSubmit={submit} method="post" action="#" noValidate>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" className="help">
          Kept in this browser tab only (session storage) and sent as a Bearer header.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorMessage error={error} context="Sign-in failed" />
    </div>
  );
}
