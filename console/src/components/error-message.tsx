import { type ApiError } from '../api/client';

/** An API error in words: what the gateway said, its code, and the field it names. */
export function ErrorMessage({ error, context }: { error: ApiError | null; context?: string }) {
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <p>
        <strong>{context ?? 'The gateway refused this request'}:</strong> {error.message}
      </p>
      <p className="error-meta">
        code <code>{error.code}</code>
        {error.field ? (
          <>
            {' '}
            · field <code>{error.field}</code>
          </>
        ) : null}
        {error.requestId ? (
          <>
            {' '}
            · request id <code>{error.requestId}</code>
          </>
        ) : null}
      </p>
      {error.others.length > 0 ? (
        <ul>
          {error.others.map((other, index) => (
            <li key={index}>
              {other.message} (<code>{other.code}</code>)
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}
