import { type ApiClient } from './gateway';

export type Role = 'OPERATOR' | 'ADMIN' | 'DATA_OWNER' | 'CONSUMER' | 'COMPLIANCE';

export interface TestUser {
  readonly id: string;
  readonly token: string;
  readonly role: Role;
  readonly organizationId: string;
}

export interface TestOrganization {
  readonly id: string;
  readonly name: string;
  readonly users: Record<Exclude<Role, 'OPERATOR'>, TestUser>;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;

/** Creates an organisation with one user of each organisation role, each with a read-write token, as the platform operator (the bootstrap admin). */
export async function createOrganization(gateway: ApiClient, name = unique('org')): Promise<TestOrganization> {
  const { createOrganization: organization } = await gateway.data<{ createOrganization: { id: string } }>(
    gateway.adminToken,
    'mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }',
    { input: { name } },
  );
  const roles = ['ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'] as const;
  const users = {} as Record<Exclude<Role, 'OPERATOR'>, TestUser>;
  for (const role of roles) users[role] = await createUser(gateway, organization.id, role);
  return { id: organization.id, name, users };
}

export async function createUser(gateway: ApiClient, organizationId: string, role: Role, scopes?: ('read' | 'write')[]): Promise<TestUser> {
  const email = `${unique(role.toLowerCase())}@example.test`;
  const { createUser: user } = await gateway.data<{ createUser: { id: string } }>(
    gateway.adminToken,
    'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
    { input: { organizationId, email, role } },
  );
  const { createApiToken } = await gateway.data<{ createApiToken: { secret: string } }>(
    gateway.adminToken,
    'mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }',
    { input: { userId: user.id, name: 'test', reason: 'test fixture: a token for a new user', ...(scopes ? { scopes } : {}) } },
  );
  return { id: user.id, token: createApiToken.secret, role, organizationId };
}

export interface DatasetOptions {
  readonly labelled?: boolean;
  /** Declared labels of a labelled dataset (default billing and hardware); imports with others are refused. */
  readonly labels?: readonly string[];
  readonly name?: string;
  readonly epsilon?: number;
  readonly delta?: number;
  readonly promptTemplate?: string;
}

export async function createDataset(gateway: ApiClient, owner: TestUser, options: DatasetOptions = {}): Promise<{ id: string }> {
  const { createDataset: dataset } = await gateway.data<{ createDataset: { id: string } }>(
    owner.token,
    'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }',
    {
      input: {
        name: options.name ?? unique('dataset'),
        textField: 'text',
        labelField: options.labelled === false ? null : 'label',
        labels: options.labelled === false ? null : (options.labels ?? ['billing', 'hardware']),
        ...(options.promptTemplate ? { promptTemplate: options.promptTemplate } : {}),
        budget: { epsilon: options.epsilon ?? 3, delta: options.delta ?? 1e-6 },
      },
    },
  );
  return dataset;
}

/** Options of {@link ticketSchema}: the message's token bound (and character bound), and whether the optional `score` field exists. */
export interface TicketSchemaOptions {
  readonly messageTokens: number;
  readonly messageChars?: number;
  readonly score?: boolean;
}

/**
 * The support-ticket record schema the structured suites share, as `CreateDatasetInput.schema`
 * takes it: a text message, a product category (the condition field), an integer priority, an
 * optional number score and an optional boolean.
 */
export function ticketSchema(options: TicketSchemaOptions): Record<string, unknown> {
  return {
    fields: [
      { name: 'message', kind: 'TEXT', maxTokens: options.messageTokens, ...(options.messageChars ? { maxChars: options.messageChars } : {}) },
      { name: 'product', kind: 'CATEGORY', values: ['router', 'modem'] },
      { name: 'priority', kind: 'INTEGER', min: 1, max: 5 },
      ...(options.score === false ? [] : [{ name: 'score', kind: 'NUMBER', min: -1, max: 1, decimals: 2, optional: true }]),
      { name: 'urgent', kind: 'BOOLEAN', optional: true },
    ],
    conditionField: 'product',
  };
}

/** Creates a structured dataset with `schema` (e.g. {@link ticketSchema}); budget epsilon 8, delta 1e-6 unless given. */
export async function createStructuredDataset(
  gateway: ApiClient,
  owner: TestUser,
  schema: unknown,
  options: { readonly name?: string; readonly budget?: { readonly epsilon?: number; readonly delta?: number } } = {},
): Promise<{ id: string }> {
  const { createDataset: dataset } = await gateway.data<{ createDataset: { id: string } }>(owner.token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }', {
    input: { name: options.name ?? unique('tickets'), schema, budget: options.budget ?? { epsilon: 8, delta: 1e-6 } },
  });
  return dataset;
}

export interface ImportResponse {
  status: number;
  body: {
    imported?: number;
    recordCount?: number;
    labels?: string[];
    error?: { code: string; message: string; problems?: { line?: number; rule: string; field: string }[]; problemCount?: number };
  };
}

/** Posts a file body to the import endpoint. */
export async function importRecords(
  gateway: ApiClient,
  token: string | null,
  datasetId: string,
  body: string | Buffer | Uint8Array,
  contentType = 'text/csv',
): Promise<ImportResponse> {
  const response = await fetch(`${gateway.url}/datasets/${datasetId}/records`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: response.status, body: (await response.json()) as ImportResponse['body'] };
}

/** A text-and-label CSV of `[text, label]` rows, text quoted. */
export function labelledCsv(rows: readonly (readonly [string, string])[]): string {
  return `text,label\n${rows.map(([text, label]) => `"${text.replaceAll('"', '""')}",${label}`).join('\n')}\n`;
}

/** A labelled dataset holding `rows`; fails unless every row is imported. */
export async function datasetWithRecords(gateway: ApiClient, owner: TestUser, options: DatasetOptions, rows: readonly (readonly [string, string])[]): Promise<{ id: string }> {
  const dataset = await createDataset(gateway, owner, options);
  const response = await importRecords(gateway, owner.token, dataset.id, labelledCsv(rows));
  if (response.body.imported !== rows.length) throw new Error(`import of ${rows.length} records answered ${response.status}: ${JSON.stringify(response.body)}`);
  return dataset;
}

/** A dataset's ledger as compliance reads it: spent rho, the entries, and whether it verifies. */
export interface LedgerView {
  readonly spentRho: number;
  readonly nodes: { kind: string; releaseId: string; rho: number }[];
  readonly ok: boolean;
}

export async function readLedger(gateway: ApiClient, compliance: TestUser, datasetId: string): Promise<LedgerView> {
  const { dataset } = await gateway.data<{ dataset: { budget: { spentRho: number; ledger: { nodes: LedgerView['nodes'] }; verification: { ok: boolean } } } }>(
    compliance.token,
    'query($id: ID!) { dataset(id: $id) { budget { spentRho ledger(first: 100) { nodes { kind releaseId rho } } verification { ok } } } }',
    { id: datasetId },
  );
  return { spentRho: dataset.budget.spentRho, nodes: dataset.budget.ledger.nodes, ok: dataset.budget.verification.ok };
}
