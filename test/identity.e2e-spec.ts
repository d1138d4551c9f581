import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createOrganization, createUser, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

describe('identity: organisations, users and tokens', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway();
    acme = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  it('bootstraps an admin whose token is written to a 0600 file in the data folder', async () => {
    const path = join(gateway.dataDir, 'admin-token');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toMatch(/^sg_[A-Za-z0-9_-]{43}$/);
    const { me } = await gateway.data<{ me: { role: string; email: string } }>(gateway.adminToken, '{ me { role email } }');
    expect(me).toEqual({ role: 'OPERATOR', email: 'admin@synthgate.local' });
  });

  it('answers UNAUTHENTICATED without a token, with a malformed one and with an unknown one', async () => {
    for (const token of [null, 'not-a-token', `sg_${'A'.repeat(43)}`]) {
      const result = await gateway.gql(token, '{ me { id } }');
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
  });

  it('stores only a hash of each token and shows the secret once', async () => {
    const { rows } = await queryDatabase(gateway, 'SELECT prefix, encode(secret_hash, $$hex$$) AS hash FROM api_token');
    for (const row of rows as { prefix: string; hash: string }[]) {
      expect(row.hash).toHaveLength(64);
      expect(row.hash).not.toContain(row.prefix);
    }
    const listed = await gateway.data<{ apiTokens: { nodes: Record<string, unknown>[] } }>(gateway.adminToken, '{ apiTokens(first: 100) { nodes { id prefix name } } }');
    for (const token of listed.apiTokens.nodes) expect(JSON.stringify(token)).not.toMatch(/sg_[A-Za-z0-9_-]{43}/);
  });

  it('refuses revoked and expired tokens', async () => {
    const owner = acme.users.DATA_OWNER;
    const created = await gateway.data<{ createApiToken: { token: { id: string }; secret: string } }>(
      owner.token,
      'mutation { createApiToken(input: { name: "short-lived" }) { token { id } secret } }',
    );
    const secret = created.createApiToken.secret;
    expect((await gateway.data<{ me: { id: string } }>(secret, '{ me { id } }')).me.id).toBe(owner.id);
    await gateway.data(owner.token, 'mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }', { id: created.createApiToken.token.id });
    expect((await gateway.gql(secret, '{ me { id } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const other = await gateway.data<{ createApiToken: { token: { id: string }; secret: string } }>(
      owner.token,
      'mutation { createApiToken(input: { name: "expiring" }) { token { id } secret } }',
    );
    await queryDatabase(gateway, `UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, [other.createApiToken.token.id]);
    expect((await gateway.gql(other.createApiToken.secret, '{ me { id } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('lets users manage only their own tokens, and answers NOT_FOUND for others', async () => {
    const consumer = acme.users.CONSUMER;
    const owner = acme.users.DATA_OWNER;
    const result = await gateway.gql(consumer.token, 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }', {
      input: { userId: owner.id, name: 'stolen' },
    });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const tokens = await gateway.data<{ apiTokens: { nodes: { userId: string }[] } }>(consumer.token, '{ apiTokens { nodes { userId } } }');
    expect(tokens.apiTokens.nodes.every((token) => token.userId === consumer.id)).toBe(true);
  });

  it('limits a read-only token to queries', async () => {
    const reader = await createUser(gateway, acme.id, 'DATA_OWNER', ['read']);
    expect((await gateway.data<{ me: { id: string } }>(reader.token, '{ me { id } }')).me.id).toBe(reader.id);
    const result = await gateway.gql(reader.token, 'mutation { createDataset(input: { name: "x" }) { id } }');
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('only lets admins create organisations and users', async () => {
    for (const role of ['DATA_OWNER', 'CONSUMER', 'COMPLIANCE'] as const) {
      const organization = await gateway.gql(acme.users[role].token, 'mutation { createOrganization(input: { name: "rogue" }) { id } }');
      expect(organization.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const user = await gateway.gql(acme.users[role].token, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
        input: { organizationId: acme.id, email: `rogue-${role}@example.test`, role: 'ADMIN' },
      });
      expect(user.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });

  it('validates input, naming the field', async () => {
    const badEmail = await gateway.gql(gateway.adminToken, 'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }', {
      input: { organizationId: acme.id, email: 'not an email', role: 'CONSUMER' },
    });
    expect(badEmail.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.email' });
    const duplicate = await gateway.gql(gateway.adminToken, 'mutation($name: String!) { createOrganization(input: { name: $name }) { id } }', { name: acme.name });
    expect(duplicate.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const badDays = await gateway.gql(gateway.adminToken, 'mutation { createApiToken(input: { name: "x", expiresInDays: 0 }) { secret } }');
    expect(badDays.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.expiresInDays' });
    const badPage = await gateway.gql(gateway.adminToken, '{ organizations(first: 1000) { nodes { id } } }');
    expect(badPage.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const badCursor = await gateway.gql(gateway.adminToken, '{ organizations(after: "garbage") { nodes { id } } }');
    expect(badCursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('answers NOT_FOUND for users of other organisations and for ids that are not ids', async () => {
    const other = await createOrganization(gateway);
    const result = await gateway.gql(acme.users.COMPLIANCE.token, 'query($id: ID!) { user(id: $id) { id } }', { id: other.users.CONSUMER.id });
    expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const garbage = await gateway.gql(gateway.adminToken, '{ user(id: "nope") { id } }');
    expect(garbage.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('stops a disabled user, and keeps an admin from disabling itself', async () => {
    const victim = await createUser(gateway, acme.id, 'CONSUMER');
    await gateway.data(gateway.adminToken, 'mutation($id: ID!) { updateUser(input: { id: $id, disabled: true }) { disabled } }', { id: victim.id });
    expect((await gateway.gql(victim.token, '{ me { id } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { me } = await gateway.data<{ me: { id: string } }>(gateway.adminToken, '{ me { id } }');
    const self = await gateway.gql(gateway.adminToken, 'mutation($id: ID!) { updateUser(input: { id: $id, disabled: true }) { id } }', { id: me.id });
    expect(self.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.id' });
  });

  it('pages through organisations with cursors', async () => {
    for (let i = 0; i < 3; i++) await gateway.data(gateway.adminToken, 'mutation($name: String!) { createOrganization(input: { name: $name }) { id } }', { name: `page-${i}-${Date.now()}` });
    const seen = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const page: { organizations: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } = await gateway.data(
        gateway.adminToken,
        'query($after: String) { organizations(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }',
        { after },
      );
      for (const node of page.organizations.nodes) {
        expect(seen.has(node.id)).toBe(false);
        seen.add(node.id);
      }
      if (!page.organizations.pageInfo.hasNextPage) break;
      after = page.organizations.pageInfo.endCursor;
    }
    const { rows } = await queryDatabase(gateway, 'SELECT count(*)::int AS count FROM organization');
    expect(seen.size).toBe((rows[0] as { count: number }).count);
  });
});

async function queryDatabase(gateway: TestGateway, sql: string, parameters: unknown[] = []): Promise<{ rows: unknown[] }> {
  const { Client } = await import('pg');
  const client = new Client({ connectionString: gateway.databaseUrl });
  await client.connect();
  try {
    return await client.query(sql, parameters);
  } finally {
    await client.end();
  }
}
