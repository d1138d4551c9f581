import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

const DATASET_FIELDS = 'id name textField labelField labels recordCount promptTemplate publicPromptTemplate archived budget { epsilon delta warnings }';

describe('datasets', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway();
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  it('lets a data owner create a dataset with the default budget and template', async () => {
    const { createDataset } = await gateway.data<{ createDataset: Record<string, unknown> }>(
      acme.users.DATA_OWNER.token,
      `mutation { createDataset(input: { name: "questions", labelField: "label" }) { ${DATASET_FIELDS} } }`,
    );
    expect(createDataset).toMatchObject({
      name: 'questions',
      textField: 'text',
      labelField: 'label',
      recordCount: 0,
      labels: [],
      archived: false,
      promptTemplate: 'Here is a text about {label}: {text}\n\nHere is another text about {label}:',
      publicPromptTemplate: 'Here is another text about {label}:',
      budget: { epsilon: 3, delta: 1e-6, warnings: ['the dataset has no records yet; releases need delta below 1/record count'] },
    });
  });

  it('says where the budget is set that delta must be below 1/record count', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { delta: 0.5, labels: ['x', 'y'] });
    expect((await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text,label\na,x\nb,y\nc,x\n')).body.imported).toBe(3);
    const { dataset: read } = await gateway.data<{ dataset: { budget: { warnings: string[] } } }>(
      acme.users.DATA_OWNER.token,
      'query($id: ID!) { dataset(id: $id) { budget { warnings } } }',
      { id: dataset.id },
    );
    expect(read.budget.warnings[0]).toMatch(/delta 0.5 is not below 1\/record count \(0.333\)/);
  });

  it.each([
    ['name', { name: '' }, 'input.name'],
    ['epsilon of 0', { name: 'a', budget: { epsilon: 0 } }, 'input.budget.epsilon'],
    ['negative epsilon', { name: 'a', budget: { epsilon: -1 } }, 'input.budget.epsilon'],
    ['delta of 0', { name: 'a', budget: { delta: 0 } }, 'input.budget.delta'],
    ['delta of 1', { name: 'a', budget: { delta: 1 } }, 'input.budget.delta'],
    ['subnormal delta of 5e-324', { name: 'a', budget: { delta: 5e-324 } }, 'input.budget.delta'],
    ['subnormal epsilon of 5e-324', { name: 'a', budget: { epsilon: 5e-324 } }, 'input.budget.epsilon'],
    ['template without {text}', { name: 'a', promptTemplate: 'Nothing here' }, 'input.promptTemplate'],
    ['template with {text} twice', { name: 'a', promptTemplate: '{text} {text} more' }, 'input.promptTemplate'],
    ['template with an unknown placeholder', { name: 'a', promptTemplate: '{text} and {author}' }, 'input.promptTemplate'],
    ['template ending at {text}', { name: 'a', promptTemplate: 'Here: {text}   ' }, 'input.promptTemplate'],
    ['{label} in an unlabelled dataset', { name: 'a', labelField: null, promptTemplate: '{label}: {text} next {label}' }, 'input.promptTemplate'],
    ['label field equal to text field', { name: 'a', labelField: 'text' }, 'input.labelField'],
    ['bad text field', { name: 'a', textField: 'has space' }, 'input.textField'],
    ['label list on an unlabelled dataset', { name: 'a', labelField: null, labels: ['x'] }, 'input.labels'],
    ['empty label', { name: 'a', labelField: 'label', labels: ['ok', '  '] }, 'input.labels'],
    ['label of 201 characters', { name: 'a', labelField: 'label', labels: ['x'.repeat(201)] }, 'input.labels'],
  ])('refuses a %s as BAD_USER_INPUT naming the field', async (_, input, field) => {
    const result = await gateway.gql(acme.users.DATA_OWNER.token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }', { input });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0]?.message).toContain(`${field}:`);
  });

  it('refuses a second active dataset of the same name in one organisation (CONFLICT), not across organisations', async () => {
    await createDataset(gateway, acme.users.DATA_OWNER, { name: 'same-name' });
    const again = await gateway.gql(acme.users.DATA_OWNER.token, 'mutation { createDataset(input: { name: "same-name" }) { id } }');
    expect(again.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    await createDataset(gateway, globex.users.DATA_OWNER, { name: 'same-name' });
  });

  it('shows datasets only to their own organisation, and NOT_FOUND to others', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER);
    for (const role of ['DATA_OWNER', 'COMPLIANCE', 'ADMIN'] as const) {
      const own = await gateway.data<{ dataset: { id: string } }>(acme.users[role].token, 'query($id: ID!) { dataset(id: $id) { id } }', { id: dataset.id });
      expect(own.dataset.id).toBe(dataset.id);
      const other = await gateway.gql(globex.users[role].token, 'query($id: ID!) { dataset(id: $id) { id } }', { id: dataset.id });
      expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      const listed = await gateway.data<{ datasets: { nodes: { id: string }[] } }>(globex.users[role].token, '{ datasets(first: 100) { nodes { id } } }');
      expect(listed.datasets.nodes.map((d) => d.id)).not.toContain(dataset.id);
    }
    const consumer = await gateway.gql(acme.users.CONSUMER.token, 'query($id: ID!) { dataset(id: $id) { id } }', { id: dataset.id });
    expect(consumer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const missing = await gateway.gql(acme.users.DATA_OWNER.token, 'query { dataset(id: "00000000-0000-4000-8000-000000000000") { id } }');
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('shows budgets to owners and compliance only', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER);
    const query = 'query($id: ID!) { dataset(id: $id) { budget { epsilon } } }';
    expect((await gateway.data<{ dataset: { budget: unknown } }>(acme.users.COMPLIANCE.token, query, { id: dataset.id })).dataset.budget).toEqual({ epsilon: 3 });
    expect((await gateway.data<{ dataset: { budget: unknown } }>(acme.users.ADMIN.token, query, { id: dataset.id })).dataset.budget).toBeNull();
  });

  it('lets only the owning organisation change or archive a dataset; compliance changes nothing', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER);
    const rename = 'mutation($id: ID!) { updateDataset(input: { id: $id, name: "renamed", budget: { epsilon: 5 } }) { name budget { epsilon } } }';
    expect((await gateway.gql(globex.users.DATA_OWNER.token, rename, { id: dataset.id })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gateway.gql(acme.users.COMPLIANCE.token, rename, { id: dataset.id })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const updated = await gateway.data<{ updateDataset: unknown }>(acme.users.DATA_OWNER.token, rename, { id: dataset.id });
    expect(updated.updateDataset).toEqual({ name: 'renamed', budget: { epsilon: 5 } });
    const archive = 'mutation($id: ID!) { archiveDataset(id: $id) { archived } }';
    expect((await gateway.gql(globex.users.DATA_OWNER.token, archive, { id: dataset.id })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await gateway.data<{ archiveDataset: unknown }>(acme.users.DATA_OWNER.token, archive, { id: dataset.id })).archiveDataset).toEqual({ archived: true });
    const listed = await gateway.data<{ datasets: { nodes: { id: string }[] } }>(acme.users.DATA_OWNER.token, '{ datasets(first: 100) { nodes { id } } }');
    expect(listed.datasets.nodes.map((d) => d.id)).not.toContain(dataset.id);
    const imported = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text,label\na,b\n');
    expect(imported.body.error?.code).toBe('CONFLICT');
  });

  it('takes declared labels at creation (trimmed, distinct, sorted) and lets only the owner add more, never remove one', async () => {
    const { createDataset: created } = await gateway.data<{ createDataset: { id: string; labels: string[]; labelsDerivedFromData: boolean } }>(
      acme.users.DATA_OWNER.token,
      'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id labels labelsDerivedFromData } }',
      { input: { name: 'declared', labelField: 'label', labels: [' sport', 'weather', 'sport'] } },
    );
    expect(created).toMatchObject({ labels: ['sport', 'weather'], labelsDerivedFromData: false });
    const add = 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { labels } }';
    const added = await gateway.data<{ updateDataset: { labels: string[] } }>(acme.users.DATA_OWNER.token, add, { input: { id: created.id, addLabels: ['cooking', 'sport'] } });
    expect(added.updateDataset.labels).toEqual(['cooking', 'sport', 'weather']);
    expect((await gateway.gql(acme.users.COMPLIANCE.token, add, { input: { id: created.id, addLabels: ['x'] } })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gateway.gql(globex.users.DATA_OWNER.token, add, { input: { id: created.id, addLabels: ['x'] } })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const unlabelled = await createDataset(gateway, acme.users.DATA_OWNER, { labelled: false });
    const refused = await gateway.gql(acme.users.DATA_OWNER.token, add, { input: { id: unlabelled.id, addLabels: ['x'] } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.addLabels' });
  });

  it('lets only the owning DATA_OWNER read record text, and audits each read', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['x', 'y'] });
    await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text,label\nfirst,x\nsecond,y\nthird,x\n');
    const query = 'query($id: ID!, $label: String) { dataset(id: $id) { records(first: 10, label: $label) { nodes { text label } } } }';
    const owner = await gateway.data<{ dataset: { records: { nodes: unknown[] } } }>(acme.users.DATA_OWNER.token, query, { id: dataset.id, label: 'x' });
    expect(owner.dataset.records.nodes).toEqual([
      { text: 'first', label: 'x' },
      { text: 'third', label: 'x' },
    ]);
    for (const role of ['ADMIN', 'COMPLIANCE'] as const) {
      const result = await gateway.gql(acme.users[role].token, query, { id: dataset.id });
      expect(result.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
      expect(JSON.stringify(result)).not.toContain('second');
    }
    const audit = await gateway.data<{ auditEvents: { nodes: { action: string; actorUserId: string; subjectId: string }[] } }>(
      acme.users.COMPLIANCE.token,
      'query($subject: String) { auditEvents(filter: { action: "records.read", subjectId: $subject }) { nodes { action actorUserId subjectId } } }',
      { subject: dataset.id },
    );
    expect(audit.auditEvents.nodes).toEqual([{ action: 'records.read', actorUserId: acme.users.DATA_OWNER.id, subjectId: dataset.id }]);
  });
});
