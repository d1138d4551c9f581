import { permissionTable } from '../apps/gateway/src/permission-table';
import { createOrganization, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

describe('gateway: health, schema, hardening and errors', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway();
    acme = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  it('reports health: database up, migrations current', async () => {
    const response = await fetch(`${gateway.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'up', migrations: 'current' });
  });

  it('declares a permission for every root field of the schema', async () => {
    const { __schema } = await gateway.data<{ __schema: { queryType: { fields: { name: string }[] }; mutationType: { fields: { name: string }[] } } }>(
      gateway.adminToken,
      '{ __schema { queryType { fields { name } } mutationType { fields { name } } } }',
    );
    const declared = new Set(permissionTable().map((line) => line.split(':')[0]));
    const fields = [...__schema.queryType.fields.map((f) => `Query.${f.name}`), ...__schema.mutationType.fields.map((f) => `Mutation.${f.name}`)];
    expect(fields.filter((field) => !declared.has(field))).toEqual([]);
  });

  it('gives every response a request id, and echoes a well-formed incoming one', async () => {
    const fresh = await fetch(`${gateway.url}/health`);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await fetch(`${gateway.url}/health`, { headers: { 'x-request-id': 'trace-1234567' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-1234567');
  });

  it('sends security headers', async () => {
    const response = await fetch(`${gateway.url}/health`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('blocks cross-site request forgery: simple GET and text/plain POST requests are refused', async () => {
    const get = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent('{ me { id } }')}`, {
      headers: { authorization: `Bearer ${gateway.adminToken}` },
    });
    expect(get.status).toBe(400);
    const post = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${gateway.adminToken}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect(post.status).toBe(400);
  });

  it('refuses request bodies over the limit', async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway.adminToken}` },
      body: JSON.stringify({ query: '{ me { id } }', variables: { padding: 'x'.repeat(2 * 1024 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('keeps GraphQL\'s own codes for malformed documents', async () => {
    expect((await gateway.gql(gateway.adminToken, '{ me { id ')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect((await gateway.gql(gateway.adminToken, '{ me { nothing } }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('writes an audit event for every successful and every refused mutation', async () => {
    const created = await gateway.data<{ createDataset: { id: string } }>(acme.users.DATA_OWNER.token, 'mutation { createDataset(input: { name: "audited" }) { id } }');
    const refused = await gateway.gql(acme.users.COMPLIANCE.token, 'mutation { createDataset(input: { name: "refused" }) { id } }');
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const invalid = await gateway.gql(acme.users.DATA_OWNER.token, 'mutation { createDataset(input: { name: "" }) { id } }');
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string; outcome: string; actorUserId: string; subjectId: string | null; details: Record<string, unknown> }[] } }>(
      acme.users.COMPLIANCE.token,
      '{ auditEvents(first: 100) { nodes { action outcome actorUserId subjectId details } } }',
    );
    expect(auditEvents.nodes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'dataset.create', outcome: 'SUCCESS', actorUserId: acme.users.DATA_OWNER.id, subjectId: created.createDataset.id }),
        expect.objectContaining({ action: 'mutation.createDataset', outcome: 'DENIED', actorUserId: acme.users.COMPLIANCE.id, details: { code: 'FORBIDDEN' } }),
        expect.objectContaining({ action: 'mutation.createDataset', outcome: 'FAILURE', actorUserId: acme.users.DATA_OWNER.id, details: { code: 'BAD_USER_INPUT' } }),
      ]),
    );
  });

  it('records logins and refused tokens in the audit log', async () => {
    await gateway.gql(`sg_${'B'.repeat(43)}`, '{ me { id } }');
    const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string; outcome: string; actorUserId: string | null }[] } }>(
      acme.users.COMPLIANCE.token,
      '{ auditEvents(first: 100, filter: { action: "auth.login" }) { nodes { action outcome actorUserId } } }',
    );
    const logins = auditEvents.nodes.filter((event) => event.outcome === 'SUCCESS').map((event) => event.actorUserId);
    expect(logins).toEqual(expect.arrayContaining([acme.users.DATA_OWNER.id, acme.users.COMPLIANCE.id]));
  });

  it('never lets the application rewrite the audit log', async () => {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      await expect(client.query('UPDATE audit_event SET outcome = $1', ['SUCCESS'])).rejects.toThrow(/append-only/);
      await expect(client.query('DELETE FROM audit_event')).rejects.toThrow(/append-only/);
    } finally {
      await client.end();
    }
  });

  it('filters the audit log, and shows an organisation only its own events', async () => {
    const globex = await createOrganization(gateway);
    const mine = await gateway.data<{ auditEvents: { nodes: { subjectId: string }[] } }>(
      globex.users.COMPLIANCE.token,
      '{ auditEvents(first: 100, filter: { outcome: SUCCESS }) { nodes { subjectId } } }',
    );
    const acmeIds = new Set(Object.values(acme.users).map((u) => u.id));
    expect(mine.auditEvents.nodes.some((event) => acmeIds.has(event.subjectId))).toBe(false);
    const consumer = await gateway.gql(acme.users.CONSUMER.token, '{ auditEvents { nodes { id } } }');
    expect(consumer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('gateway limits', () => {
  let gateway: TestGateway;

  beforeAll(async () => {
    gateway = await startTestGateway({
      NODE_ENV: 'production',
      GRAPHQL_MAX_DEPTH: '3',
      GRAPHQL_MAX_COMPLEXITY: '60',
      RATE_LIMIT_PER_MINUTE: '12',
    });
  });
  afterAll(() => gateway.close());

  it('refuses queries deeper than GRAPHQL_MAX_DEPTH', async () => {
    const result = await gateway.gql(gateway.adminToken, '{ users { edges { node { organization { name } } } } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(result.errors?.[0]?.message).toMatch(/exceeds maximum operation depth/);
  });

  it('refuses queries costlier than GRAPHQL_MAX_COMPLEXITY', async () => {
    const result = await gateway.gql(gateway.adminToken, '{ organizations(first: 100) { nodes { id name } } }');
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    expect(result.errors?.[0]?.message).toMatch(/complexity \d+ exceeds the limit of 60/);
  });

  it('turns introspection off in production', async () => {
    const result = await gateway.gql(gateway.adminToken, '{ __schema { queryType { name } } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('answers unknown failures as INTERNAL_SERVER_ERROR with a request id and no internals', async () => {
    const { Client } = await import('pg');
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    await client.query('ALTER TABLE organization RENAME TO organization_gone');
    await client.end();
    const result = await gateway.gql(gateway.adminToken, '{ organizations { nodes { id } } }');
    const error = result.errors?.[0];
    expect(error?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error?.message).toMatch(/^internal error; quote request id [0-9a-f-]{36} when reporting it$/);
    expect(JSON.stringify(result)).not.toMatch(/organization_gone|relation|SELECT|stack/i);
  });

  it('rate-limits per token', async () => {
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 14; i++) codes.push((await gateway.gql(gateway.adminToken, '{ me { id } }')).errors?.[0]?.extensions?.code);
    expect(codes).toContain('TOO_MANY_REQUESTS');
  });
});
