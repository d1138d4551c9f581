import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

const createUserMutation = 'mutation($input: CreateUserInput!) { createUser(input: $input) { id role organizationId } }';
const createTokenMutation = 'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret token { id } } }';

/**
 * ADMIN split (issue 15, item 9): an organisation's ADMIN manages its own organisation only; the
 * platform OPERATOR (the bootstrap admin) manages organisations but reads none of their data, and
 * issues a token for one of their users only as an audited act with a reason, visible to them.
 */
describe('organisation admins and the platform operator', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let globexDataset: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
    globexDataset = (await createDataset(gateway, globex.users.DATA_OWNER, { labels: ['a', 'b'] })).id;
    await importRecords(gateway, globex.users.DATA_OWNER.token, globexDataset, 'text,label\n"globex secret one",a\n"globex secret two",b\n');
  });
  afterAll(() => gateway.close());

  const admin = () => acme.users.ADMIN;

  it('lets an ADMIN create a user in its own organisation and mint that user a token, with no reason needed', async () => {
    const { createUser } = await gateway.data<{ createUser: { id: string; organizationId: string } }>(admin().token, createUserMutation, {
      input: { organizationId: acme.id, email: `own-${Date.now()}@example.test`, role: 'DATA_OWNER' },
    });
    expect(createUser.organizationId).toBe(acme.id);
    const { createApiToken } = await gateway.data<{ createApiToken: { secret: string } }>(admin().token, createTokenMutation, { input: { userId: createUser.id, name: 'own' } });
    expect((await gateway.data<{ me: { id: string } }>(createApiToken.secret, '{ me { id } }')).me.id).toBe(createUser.id);
  });

  it('answers NOT_FOUND to an ADMIN reaching into another organisation: users, tokens, roles, lists', async () => {
    const created = await gateway.gql(admin().token, createUserMutation, { input: { organizationId: globex.id, email: `rogue-${Date.now()}@example.test`, role: 'DATA_OWNER' } });
    expect(created.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const minted = await gateway.gql(admin().token, createTokenMutation, { input: { userId: globex.users.DATA_OWNER.id, name: 'stolen', reason: 'I would like to read their records' } });
    expect(minted.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const updated = await gateway.gql(admin().token, 'mutation($id: ID!) { updateUser(input: { id: $id, disabled: true }) { id } }', { id: globex.users.ADMIN.id });
    expect(updated.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const read = await gateway.gql(admin().token, 'query($id: ID!) { user(id: $id) { id } }', { id: globex.users.DATA_OWNER.id });
    expect(read.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const { users } = await gateway.data<{ users: { nodes: { organizationId: string }[] } }>(admin().token, '{ users(first: 100) { nodes { organizationId } } }');
    expect(new Set(users.nodes.map((u) => u.organizationId))).toEqual(new Set([acme.id]));
    const { organizations } = await gateway.data<{ organizations: { nodes: { id: string }[] } }>(admin().token, '{ organizations(first: 100) { nodes { id } } }');
    expect(organizations.nodes.map((o) => o.id)).toEqual([acme.id]);
    const { apiTokens } = await gateway.data<{ apiTokens: { nodes: { userId: string }[] } }>(admin().token, '{ apiTokens(first: 100) { nodes { userId } } }');
    const globexUsers = new Set(Object.values(globex.users).map((u) => u.id));
    expect(apiTokens.nodes.length).toBeGreaterThanOrEqual(4);
    expect(apiTokens.nodes.filter((token) => globexUsers.has(token.userId))).toEqual([]);
    const dataset = await gateway.gql(admin().token, 'query($id: ID!) { dataset(id: $id) { id } }', { id: globexDataset });
    expect(dataset.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    // Nor can an ADMIN make a platform operator, in its own organisation or anywhere.
    const promoted = await gateway.gql(admin().token, createUserMutation, { input: { organizationId: acme.id, email: `op-${Date.now()}@example.test`, role: 'OPERATOR' } });
    expect(promoted.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.role' });
    const raised = await gateway.gql(admin().token, 'mutation($id: ID!) { updateUser(input: { id: $id, role: OPERATOR }) { id } }', { id: acme.users.CONSUMER.id });
    expect(raised.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.role' });
  });

  it('lets the OPERATOR manage organisations and users but read none of their data', async () => {
    expect((await gateway.data<{ me: { role: string } }>(gateway.adminToken, '{ me { role } }')).me.role).toBe('OPERATOR');
    const { organizations } = await gateway.data<{ organizations: { nodes: { id: string }[] } }>(gateway.adminToken, '{ organizations(first: 100) { nodes { id } } }');
    expect(organizations.nodes.map((o) => o.id)).toEqual(expect.arrayContaining([acme.id, globex.id]));
    const dataset = await gateway.gql(gateway.adminToken, 'query($id: ID!) { dataset(id: $id) { id } }', { id: globexDataset });
    expect(dataset.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const datasets = await gateway.gql(gateway.adminToken, '{ datasets { nodes { id } } }');
    expect(datasets.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const records = await fetch(`${gateway.url}/datasets/${globexDataset}/records`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    expect(records.status).toBeGreaterThanOrEqual(400);
    const audit = await gateway.data<{ auditEvents: { nodes: { action: string }[] } }>(gateway.adminToken, '{ auditEvents(first: 100) { nodes { action } } }');
    expect(audit.auditEvents.nodes.some((event) => event.action.startsWith('records.'))).toBe(false);
  });

  it('refuses an OPERATOR token for another user without a reason, and logs one with its reason where that organisation sees it', async () => {
    const silent = await gateway.gql(gateway.adminToken, createTokenMutation, { input: { userId: globex.users.DATA_OWNER.id, name: 'silent' } });
    expect(silent.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.reason' });
    const reason = 'support ticket 4711: the owner lost their token';
    const { createApiToken } = await gateway.data<{ createApiToken: { token: { id: string } } }>(gateway.adminToken, createTokenMutation, {
      input: { userId: globex.users.DATA_OWNER.id, name: 'break-glass', reason },
    });
    for (const reader of [globex.users.ADMIN, globex.users.COMPLIANCE]) {
      const { auditEvents } = await gateway.data<{ auditEvents: { nodes: { action: string; subjectId: string; details: Record<string, unknown> }[] } }>(
        reader.token,
        '{ auditEvents(filter: { action: "token.issue.operator" }) { nodes { action subjectId details } } }',
      );
      expect(auditEvents.nodes.filter((event) => event.subjectId === createApiToken.token.id)).toEqual([
        { action: 'token.issue.operator', subjectId: createApiToken.token.id, details: expect.objectContaining({ reason, userId: globex.users.DATA_OWNER.id, role: 'DATA_OWNER' }) },
      ]);
    }
    // The other organisation does not see it.
    const acmeSide = await gateway.data<{ auditEvents: { nodes: { subjectId: string }[] } }>(
      acme.users.COMPLIANCE.token,
      '{ auditEvents(first: 100, filter: { action: "token.issue.operator" }) { nodes { subjectId } } }',
    );
    expect(acmeSide.auditEvents.nodes.map((event) => event.subjectId)).not.toContain(createApiToken.token.id);
  });
});
