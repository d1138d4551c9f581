import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { loadConfig } from '@synthgate/config';
import { type Command } from 'commander';

/** Options every command that talks to the gateway accepts. */
export interface ConnectionOptions {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

/** A failure the gateway reported, with its stable code. */
export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** Adds --url, --token and --json to a command that talks to the gateway. */
export function withConnection(command: Command): Command {
  return command
    .option('--url <url>', 'gateway URL (default SYNTHGATE_URL, else http://127.0.0.1:$PORT)')
    .option('--token <token>', 'API token (default SYNTHGATE_TOKEN, else the bootstrap admin token in the data folder)')
    .option('--json', 'print JSON instead of text');
}

/** Talks to a running gateway over HTTP as one token's user: the same access rules as any client. */
export class GatewayClient {
  constructor(
    readonly url: string,
    readonly token: string,
  ) {}

  /** Resolves URL and token from flags, then the environment, then the data folder's admin-token. */
  static fromOptions(options: ConnectionOptions): GatewayClient {
    const config = loadConfig();
    const url = (options.url ?? config.cli.url).replace(/\/+$/, '');
    let token = options.token ?? config.cli.token;
    if (!token) {
      const file = join(resolve(config.dataDir), 'admin-token');
      if (!existsSync(file)) {
        throw new GatewayError('UNAUTHENTICATED', `no token: pass --token, set SYNTHGATE_TOKEN, or start the gateway once so ${file} exists`);
      }
      token = readFileSync(file, 'utf8').trim();
    }
    return new GatewayClient(url, token);
  }

  async graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response = await this.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };
    const error = body.errors?.[0];
    if (error) {
      const { code, ...details } = error.extensions ?? {};
      throw new GatewayError(typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR', error.message, details);
    }
    return body.data as T;
  }

  /**
   * POSTs a file as the request body, streamed from disk at the pace the gateway reads it
   * (fetch's request streams keep what they sent in memory until the response). Returns the
   * parsed JSON answer; REST errors become GatewayErrors.
   */
  async upload(path: string, file: string, contentType: string): Promise<unknown> {
    const target = new URL(`${this.url}${path}`);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const body = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = send(target, { method: 'POST', headers: { 'content-type': contentType, authorization: `Bearer ${this.token}` } }, (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      });
      request.on('error', (error) => reject(new GatewayError('UNAVAILABLE', `cannot reach the gateway at ${this.url} (${error.message}); is it running (npm start)?`)));
      // The gateway may answer (e.g. with an error) before reading the whole file: that ends the upload early.
      pipeline(createReadStream(file), request).catch(() => undefined);
    });
    const parsed = JSON.parse(body.text || '{}') as { error?: { code?: string; message?: string } & Record<string, unknown> };
    if (body.status >= 400) {
      const { code, message, ...details } = parsed.error ?? {};
      throw new GatewayError(code ?? `HTTP_${body.status}`, message ?? `HTTP ${body.status}`, details);
    }
    return parsed;
  }

  /** A request with the token; REST errors (`{ error: { code, message } }`) become GatewayErrors. */
  async fetch(path: string, init: RequestInit & { duplex?: 'half' }): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.token}` },
      });
    } catch (error) {
      throw new GatewayError('UNAVAILABLE', `cannot reach the gateway at ${this.url} (${(error as Error).cause ?? (error as Error).message}); is it running (npm start)?`);
    }
    // GraphQL answers its errors in the body (graphql() reads them); REST routes answer { error }.
    if (!response.ok && path !== '/graphql') {
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } & Record<string, unknown> };
      const { code, message, ...details } = body.error ?? {};
      throw new GatewayError(code ?? `HTTP_${response.status}`, message ?? response.statusText, details);
    }
    return response;
  }
}

/** Prints a value as JSON (with --json) or as the given text. */
export function output(options: ConnectionOptions, value: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

