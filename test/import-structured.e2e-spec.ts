import { createDataset, createOrganization, createStructuredDataset, importRecords, type TestOrganization, ticketSchema } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

/** Structured datasets (issue 18): a declared schema at creation, typed imports, typed records. */
describe('structured datasets', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway({ IMPORT_MAX_RECORD_CHARS: '100' });
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  const owner = () => acme.users.DATA_OWNER;

  const tickets = ticketSchema({ messageTokens: 64, messageChars: 40 });
  const SCHEMA_FIELDS = 'recordSchema { conditionField fields { name kind optional maxTokens maxChars values min max decimals } }';

  async function createTickets(name = `tickets-${Math.random().toString(36).slice(2)}`): Promise<string> {
    return (await createStructuredDataset(gateway, owner(), tickets, { name, budget: { delta: 1e-9 } })).id;
  }

  async function records(datasetId: string): Promise<{ text: string; label: string | null; values: Record<string, unknown> | null }[]> {
    const { dataset } = await gateway.data<{ dataset: { records: { nodes: { text: string; label: string | null; values: Record<string, unknown> | null }[] } } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { records(first: 50) { nodes { text label values } } } }',
      { id: datasetId },
    );
    return dataset.records.nodes;
  }

  it('declares a schema at creation and returns it, with the condition field as labelField and its values as labels', async () => {
    const id = await createTickets();
    const { dataset } = await gateway.data<{ dataset: Record<string, unknown> }>(
      owner().token,
      `query($id: ID!) { dataset(id: $id) { structured textField labelField labels promptTemplate ${SCHEMA_FIELDS} } }`,
      { id },
    );
    expect(dataset).toEqual({
      structured: true,
      textField: 'message',
      labelField: 'product',
      labels: ['modem', 'router'],
      promptTemplate: 'Here is a record about {label}: {text}\n\nHere is another record about {label}:',
      recordSchema: {
        conditionField: 'product',
        fields: [
          { name: 'message', kind: 'TEXT', optional: false, maxTokens: 64, maxChars: 40, values: null, min: null, max: null, decimals: null },
          { name: 'product', kind: 'CATEGORY', optional: false, maxTokens: null, maxChars: null, values: ['router', 'modem'], min: null, max: null, decimals: null },
          { name: 'priority', kind: 'INTEGER', optional: false, maxTokens: null, maxChars: null, values: null, min: 1, max: 5, decimals: null },
          { name: 'score', kind: 'NUMBER', optional: true, maxTokens: null, maxChars: null, values: null, min: -1, max: 1, decimals: 2 },
          { name: 'urgent', kind: 'BOOLEAN', optional: true, maxTokens: null, maxChars: null, values: null, min: null, max: null, decimals: null },
        ],
      },
    });
  });

  it('gives a text-and-label dataset the text-and-label schema, kept in step with its declared labels', async () => {
    const { id } = await createDataset(gateway, owner(), { labels: ['b', 'a'] });
    await gateway.data(owner().token, 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { id } }', { input: { id, addLabels: ['c'] } });
    const { dataset } = await gateway.data<{ dataset: { structured: boolean; recordSchema: { conditionField: string; fields: { name: string; kind: string; values: string[] | null; maxTokens: number | null }[] } } }>(
      owner().token,
      `query($id: ID!) { dataset(id: $id) { structured ${SCHEMA_FIELDS} } }`,
      { id },
    );
    expect(dataset.structured).toBe(false);
    expect(dataset.recordSchema.conditionField).toBe('label');
    expect(dataset.recordSchema.fields.map((f) => [f.name, f.kind, f.values, f.maxTokens])).toEqual([
      ['text', 'TEXT', null, 2048],
      ['label', 'CATEGORY', ['a', 'b', 'c'], null],
    ]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['a duplicate field', { schema: { fields: [{ name: 'a', kind: 'BOOLEAN' }, { name: 'a', kind: 'BOOLEAN' }] } }, 'input.schema.fields[1].name', 'SCHEMA_DUPLICATE_FIELD'],
    ['a range with min above max', { schema: { fields: [{ name: 'a', kind: 'INTEGER', min: 5, max: 1 }] } }, 'input.schema.fields[0].type.max', 'SCHEMA_BAD_RANGE'],
    ['a category without values', { schema: { fields: [{ name: 'a', kind: 'CATEGORY' }] } }, 'input.schema.fields[0].type.values', 'SCHEMA_BAD_VALUES'],
    ['a bound of another kind', { schema: { fields: [{ name: 'a', kind: 'BOOLEAN', min: 1 }] } }, 'input.schema.fields[0].type.min', 'SCHEMA_UNKNOWN_PROPERTY'],
    ['a condition on an integer', { schema: { fields: [{ name: 'a', kind: 'INTEGER', min: 0, max: 1 }], conditionField: 'a' } }, 'input.schema.conditionField', 'SCHEMA_BAD_CONDITION'],
    ['a schema with the labels shorthand', { schema: tickets, labels: ['x'] }, 'input.labels', ''],
    [
      'a field named label beside another condition field',
      { schema: { fields: [{ name: 'label', kind: 'BOOLEAN' }, { name: 'kind', kind: 'CATEGORY', values: ['a'] }], conditionField: 'kind' } },
      'input.schema.fields[0].name',
      'SCHEMA_BAD_FIELD_NAME',
    ],
    ['a record field in the public prompt', { schema: tickets, promptTemplate: 'Ticket: {text}\n\nAnother ticket of priority {priority}:' }, 'input.promptTemplate', ''],
    ['a record field in a public chat turn', { schema: tickets, promptChat: [{ role: 'system', content: 'Tickets of priority {priority}.' }, { role: 'user', content: 'Ticket: {text} Another:' }] }, 'input.promptChat', ''],
    ['an undeclared placeholder', { schema: tickets, promptTemplate: 'Ticket {channel}: {text}\n\nAnother:' }, 'input.promptTemplate', ''],
  ])('refuses %s as BAD_USER_INPUT naming the field and a stable code', async (_what, extra, field, problemCode) => {
    const response = await gateway.gql(owner().token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { id } }', {
      input: { name: `bad-${Math.random()}`, ...extra },
    });
    const error = response.errors![0]!;
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    if (problemCode) expect((error.extensions as { problems: { code: string }[] }).problems[0]!.code).toBe(problemCode);
  });

  it('lets a template place any field before {text}, and the condition field anywhere', async () => {
    const response = await gateway.gql<{ createDataset: { promptTemplate: string } }>(owner().token, 'mutation($input: CreateDatasetInput!) { createDataset(input: $input) { promptTemplate } }', {
      input: { name: `templated-${Math.random()}`, schema: tickets, promptTemplate: 'A {product} ticket of priority {priority}: {text}\n\nAnother {product} ticket ({label}):' },
    });
    expect(response.errors).toBeUndefined();
  });

  it('imports typed CSV (columns in any order, optional columns left out or empty) and stores typed values, JSON text and the condition value as label', async () => {
    const id = await createTickets();
    const csv = 'priority,product,message,urgent\n2,router,"no signal, again",TRUE\n5, modem ,slow,\n';
    const response = await importRecords(gateway, owner().token, id, csv);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ imported: 2, recordCount: 2 });
    expect(await records(id)).toEqual([
      {
        text: '{"message":"no signal, again","product":"router","priority":2,"score":null,"urgent":true}',
        label: 'router',
        values: { message: 'no signal, again', product: 'router', priority: 2, score: null, urgent: true },
      },
      { text: '{"message":"slow","product":"modem","priority":5,"score":null,"urgent":null}', label: 'modem', values: { message: 'slow', product: 'modem', priority: 5, score: null, urgent: null } },
    ]);
  });

  it('imports typed JSONL with every type, including unicode and backslashes in text', async () => {
    const id = await createTickets();
    const lines = [
      { message: 'Ünïcödé \\ "quoted"\ttab', product: 'modem', priority: 1, score: -0.25, urgent: false },
      { message: 'x', product: 'router', priority: 3, score: null },
    ];
    const response = await importRecords(gateway, owner().token, id, lines.map((line) => JSON.stringify(line)).join('\n'), 'application/x-ndjson');
    expect(response.status).toBe(201);
    const stored = await records(id);
    expect(stored.map((record) => record.values)).toEqual([
      { message: 'Ünïcödé \\ "quoted"\ttab', product: 'modem', priority: 1, score: -0.25, urgent: false },
      { message: 'x', product: 'router', priority: 3, score: null, urgent: null },
    ]);
    expect(JSON.parse(stored[0]!.text)).toEqual(stored[0]!.values);
  });

  it.each<[string, string, string, string]>([
    ['an undeclared category value', '{"message":"a","product":"switch","priority":1}', 'product', 'UNDECLARED_VALUE'],
    ['an integer out of range', '{"message":"a","product":"modem","priority":6}', 'priority', 'OUT_OF_RANGE'],
    ['a fraction for an integer', '{"message":"a","product":"modem","priority":1.5}', 'priority', 'NOT_AN_INTEGER'],
    ['a string for an integer', '{"message":"a","product":"modem","priority":"1"}', 'priority', 'WRONG_TYPE'],
    ['a number out of range', '{"message":"a","product":"modem","priority":1,"score":2}', 'score', 'OUT_OF_RANGE'],
    ['too many decimals', '{"message":"a","product":"modem","priority":1,"score":0.125}', 'score', 'TOO_MANY_DECIMALS'],
    ['a bad boolean', '{"message":"a","product":"modem","priority":1,"urgent":"yes"}', 'urgent', 'NOT_A_BOOLEAN'],
    ['a missing required field', '{"message":"a","product":"modem"}', 'priority', 'MISSING_FIELD'],
    ['an unknown key', '{"message":"a","product":"modem","priority":1,"channel":"email"}', 'channel', 'UNKNOWN_FIELD'],
    ['a lone surrogate escape (jsonb would refuse it)', '{"message":"a\\ud800","product":"modem","priority":1}', 'message', 'INVALID_CHARACTER'],
    ['a key named __proto__', '{"message":"a","product":"modem","priority":1,"__proto__":{"x":1}}', '__proto__', 'UNKNOWN_FIELD'],
    ['a text over its maxChars', `{"message":"${'x'.repeat(41)}","product":"modem","priority":1}`, 'message', 'TEXT_TOO_LONG'],
  ])('refuses JSONL with %s, naming line, field and code, and imports nothing', async (_what, badLine, field, code) => {
    const id = await createTickets();
    const body = `{"message":"fine","product":"router","priority":2}\n${badLine}\n`;
    const response = await importRecords(gateway, owner().token, id, body, 'application/x-ndjson');
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problemCount: 1, problems: [{ line: 2, field, code }] });
    expect(response.body.error!.message).toContain(`line 2: "${field}"`);
    expect(await gateway.database.repositories.records.countByDataset(id)).toBe(0);
  });

  it.each<[string, string, string, string, number]>([
    ['an unknown column', 'message,product,priority,channel\na,modem,1,email\n', 'channel', 'UNKNOWN_FIELD', 1],
    ['a column named __proto__', 'message,product,priority,__proto__\na,modem,1,x\n', '__proto__', 'UNKNOWN_FIELD', 1],
    ['a repeated column', 'message,product,priority,priority\na,modem,1,2\n', 'priority', 'DUPLICATE_COLUMN', 1],
    ['a missing required column', 'message,product\na,modem\n', 'priority', 'MISSING_FIELD', 1],
    ['a bad boolean cell', 'message,product,priority,urgent\na,modem,1,yes\n', 'urgent', 'NOT_A_BOOLEAN', 2],
    ['text in an integer cell', 'message,product,priority\na,modem,high\n', 'priority', 'NOT_AN_INTEGER', 2],
    ['an empty required cell', 'message,product,priority\na,modem,\n', 'priority', 'MISSING_FIELD', 2],
  ])('refuses CSV with %s, naming line, field and code, and imports nothing', async (_what, csv, field, code, line) => {
    const id = await createTickets();
    const response = await importRecords(gateway, owner().token, id, csv);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ line, field, code }] });
    expect(await gateway.database.repositories.records.countByDataset(id)).toBe(0);
  });

  it('reports every problem of a bad file (up to 20) and keeps none of its good lines', async () => {
    const id = await createTickets();
    const lines = ['message,product,priority'];
    for (let i = 0; i < 30; i++) lines.push(i % 2 === 0 ? `ok ${i},modem,1` : `bad ${i},modem,9`);
    const response = await importRecords(gateway, owner().token, id, `${lines.join('\n')}\n`);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problemCount: 15 });
    expect(response.body.error!.problems!.length).toBe(15);
    expect(await gateway.database.repositories.records.countByDataset(id)).toBe(0);
  });

  it('lets the owner declare new values of the condition field, never anyone else', async () => {
    const id = await createTickets();
    await gateway.data(owner().token, 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { id } }', { input: { id, addLabels: ['switch'] } });
    const response = await importRecords(gateway, owner().token, id, '{"message":"a","product":"switch","priority":1}\n', 'application/x-ndjson');
    expect(response.status).toBe(201);
    const outsider = await gateway.gql(globex.users.DATA_OWNER.token, 'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { id } }', {
      input: { id, addLabels: ['hub'] },
    });
    expect(outsider.errors![0]!.extensions!.code).toBe('NOT_FOUND');
  });
});
