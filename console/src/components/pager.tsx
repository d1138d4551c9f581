import { useCallback, useState } from 'react';
import { type PageInfo } from '../api/operations';

/** Cursor pages: a stack of `after` cursors, so Previous goes back exactly one page. */
export function useCursorPages(): { after: string | null; page: number; next(cursor: string | null): void; previous(): void; reset(): void } {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const next = useCallback((cursor: string | null) => {
    if (cursor !== null) setCursors((stack) => [...stack, cursor]);
  }, []);
  const previous = useCallback(() => setCursors((stack) => (stack.length > 1 ? stack.slice(0, -1) : stack)), []);
  const reset = useCallback(() => setCursors([null]), []);
  return { after: cursors[cursors.length - 1] ?? null, page: cursors.length, next, previous, reset };
}

export function Pager({
  pageInfo,
  page,
  onNext,
  onPrevious,
  label,
}: {
  pageInfo: PageInfo | undefined;
  page: number;
  onNext(cursor: string | null): void;
  onPrevious(): void;
  label: string;
}) {
  return (
    <nav className="pager" aria-label={`${label} pages`}>
      <button type="button" onClick={onPrevious} disabled={page <= 1}>
        Previous page
      </button>
      <span aria-live="polite">Page {page}</span>
      <button type="button" onClick={() => onNext(pageInfo?.endCursor ?? null)} disabled={!pageInfo?.hasNextPage}>
        Next page
      </button>
    </nav>
  );
}
