/**
 * The console talks to the gateway it is served from: GraphQL at /graphql and the export route,
 * with the token in the Authorization header only (never in a URL, so it stays out of history,
 * logs and Referer headers).
 */

/** An error the console shows in words: the API's message and its stable code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field: string | null = null,
    readonly requestId: string | null = null,
    /** Further errors of the same response, shown under the first. */
    readonly others: readonly { message: string; code: string }[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface GraphQLErrorBody {
  message?: unknown;
  extensions?: { code?: unknown; field?: unknown; requestId?: unknown };
}

function fromGraphQLError(error: GraphQLErrorBody): { message: string; code: string; field: string | null; requestId: string | null } {
  const extensions = error.extensions ?? {};
  return {
    message: typeof error.message === 'string' ? error.message : 'the API returned an error without a message',
    code: typeof extensions.code === 'string' ? extensions.code : 'UNKNOWN',
    field: typeof extensions.field === 'string' ? extensions.field : null,
    requestId: typeof extensions.requestId === 'string' ? extensions.requestId : null,
  };
}

async function send(input: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (error) {
    throw new ApiError(`could not reach the gateway (${error instanceof Error ? error.message : String(error)})`, 'NETWORK_ERROR');
  }
}

/** Runs one GraphQL operation; any error in the answer is thrown as an ApiError, never dropped. */
export async function graphql<T>(token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await send('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  let body: { data?: T | null; errors?: GraphQLErrorBody[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new ApiError(`the gateway answered HTTP ${response.status} ${response.statusText} without a GraphQL body`, `HTTP_${response.status}`);
  }
  if (body.errors && body.errors.length > 0) {
    const [first, ...rest] = body.errors.map(fromGraphQLError);
    throw new ApiError(first!.message, first!.code, first!.field, first!.requestId, rest);
  }
  if (!response.ok || body.data === undefined || body.data === null) {
    throw new ApiError(`the gateway answered HTTP ${response.status} without data`, `HTTP_${response.status}`);
  }
  return body.data;
}

/**
 * Downloads a release export. A plain link cannot carry the Authorization header, so the file is
 * fetched here and handed to the browser as a Blob.
 */
export type ExportFormat = 'jsonl' | 'csv' | 'parquet' | 'zip';

export async function downloadExport(token: string, releaseId: string, format: ExportFormat): Promise<void> {
  const response = await send(`/releases/${encodeURIComponent(releaseId)}/export?format=${format}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    let error: { code?: unknown; message?: unknown } = {};
    try {
      error = ((await response.json()) as { error?: typeof error }).error ?? {};
    } catch {
      // not JSON: described by the status below
    }
    throw new ApiError(
      typeof error.message === 'string' ? error.message : `export failed with HTTP ${response.status}`,
      typeof error.code === 'string' ? error.code : `HTTP_${response.status}`,
    );
  }
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `release-${releaseId}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked after the click has been handled; the download keeps its own copy.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Turns anything thrown into an ApiError for display. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return new ApiError(error instanceof Error ? error.message : String(error), 'CLIENT_ERROR');
}
