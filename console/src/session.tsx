import { createContext, useContext } from 'react';
import { type Me } from './api/operations';

const STORAGE_KEY = 'synthgate.console.token';

/** The signed-in caller. The token lives in this tab's sessionStorage only: never in a URL. */
export interface Session {
  readonly token: string;
  readonly me: Me;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in console');
  return session;
}

export function storedToken(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string | null): void {
  try {
    if (token === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, token);
  } catch {
    // storage disabled: the token stays in memory for this page only
  }
}
