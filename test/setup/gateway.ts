import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type INestApplication } from '@nestjs/common';
import { loadConfig, type SynthgateConfig } from '@synthgate/config';
import { connectDatabase, type Database, loadLedgerKey } from '@synthgate/persistence';
import { createGatewayApp } from '../../apps/gateway/src/app';
import { createTestDatabase } from './test-database';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string; [key: string]: unknown } }[];
}

/** What the factories need of a gateway: its address, the bootstrap admin token and a GraphQL client. */
export interface ApiClient {
  readonly url: string;
  readonly adminToken: string;
  gql<T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  /** Like gql, but fails the test on any error and returns data. */
  data<T = Record<string, unknown>>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** GraphQL over HTTP against `url`, as a client would call it. */
export function apiClient(url: string, adminToken: string): ApiClient {
  const gql = async <T>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLResponse<T>;
  };
  return {
    url,
    adminToken,
    gql,
    data: async <T>(token: string | null, query: string, variables?: Record<string, unknown>): Promise<T> => {
      const result = await gql<T>(token, query, variables);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
    },
  };
}

/** A gateway serving over real HTTP on a free port, with its own database cloned from the template. */
export interface TestGateway extends ApiClient {
  readonly database: Database;
  readonly databaseUrl: string;
  readonly config: SynthgateConfig;
  readonly dataDir: string;
  close(): Promise<void>;
}

export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const database = await createTestDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), 'synthgate-gateway-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: database.url,
    SYNTHGATE_DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    PORT: '1',
    ...env,
  });
  const connection = await connectDatabase({
    url: database.url,
    ledgerKey: loadLedgerKey(config),
    poolSize: 10,
    applicationName: 'synthgate-test',
    migrate: true,
    queue: 'enqueue',
  });
  let app: INestApplication;
  try {
    app = await createGatewayApp(config, connection, false);
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await connection.close();
    await database.drop();
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${address.port}`;
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();

  return {
    ...apiClient(url, adminToken),
    database: connection,
    databaseUrl: database.url,
    config,
    dataDir,
    close: async () => {
      await app.close();
      await connection.close();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
