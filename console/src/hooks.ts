import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiError, asApiError } from './api/client';

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  reload(): void;
  /** Replaces the data in place, e.g. with what a poll or a mutation answered. */
  setData(update: (current: T | undefined) => T | undefined): void;
}

/**
 * Runs `load` whenever `key` changes (or on reload) and keeps the latest answer. An answer that
 * arrives after a newer request started is dropped, so a slow page never overwrites a newer one.
 */
export function useAsync<T>(load: () => Promise<T>, key: string): AsyncState<T> {
  const [data, setDataState] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    let current = true;
    setLoading(true);
    setError(null);
    loadRef.current().then(
      (value) => {
        if (!current) return;
        setDataState(value);
        setLoading(false);
      },
      (reason: unknown) => {
        if (!current) return;
        setError(asApiError(reason));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [key, version]);

  const reload = useCallback(() => setVersion((value) => value + 1), []);
  const setData = useCallback((update: (current: T | undefined) => T | undefined) => setDataState(update), []);
  return { data, error, loading, reload, setData };
}

/** Calls `tick` every `intervalMs` while `active`; the next call waits for the previous one. */
export function usePolling(tick: () => Promise<void>, intervalMs: number, active: boolean): void {
  const tickRef = useRef(tick);
  tickRef.current = tick;
  useEffect(() => {
    if (!active) return undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      await tickRef.current();
      if (!stopped) timer = setTimeout(() => void run(), intervalMs);
    };
    timer = setTimeout(() => void run(), intervalMs);
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [active, intervalMs]);
}

/** A mutation's state: run it, show its error, know when it is busy. */
export function useAction<A extends unknown[], T>(action: (...args: A) => Promise<T>): {
  run(...args: A): Promise<T | undefined>;
  busy: boolean;
  error: ApiError | null;
  clearError(): void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const actionRef = useRef(action);
  actionRef.current = action;
  const run = useCallback(async (...args: A) => {
    setBusy(true);
    setError(null);
    try {
      return await actionRef.current(...args);
    } catch (reason) {
      setError(asApiError(reason));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  const clearError = useCallback(() => setError(null), []);
  return { run, busy, error, clearError };
}
