import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';

describe('record import', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;

  beforeAll(async () => {
    gateway = await startTestGateway({ IMPORT_MAX_RECORD_CHARS: '1000', IMPORT_MAX_BYTES: String(64 * 1024 * 1024) });
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
  });
  afterAll(() => gateway.close());

  const owner = () => acme.users.DATA_OWNER;

  async function recordCount(datasetId: string): Promise<number> {
    const { dataset } = await gateway.data<{ dataset: { recordCount: number } }>(owner().token, 'query($id: ID!) { dataset(id: $id) { recordCount } }', { id: datasetId });
    const { rows } = await gateway.database.repositories.records.list(datasetId, {}, { first: 1 }).then(() => ({ rows: [] }));
    void rows;
    return dataset.recordCount;
  }

  async function storedRows(datasetId: string): Promise<number> {
    return gateway.database.repositories.records.countByDataset(datasetId);
  }

  it('imports 100,000 CSV rows in one streamed request, counts them and reads them back', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['alpha', 'beta', 'gamma'] });
    const lines = ['id,text,label'];
    for (let i = 0; i < 100_000; i++) lines.push(`${i},"Record number ${i}, with a comma and ""quotes""",${['alpha', 'beta', 'gamma'][i % 3]}`);
    const response = await importRecords(gateway, owner().token, dataset.id, `${lines.join('\n')}\n`);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ imported: 100_000, recordCount: 100_000, labels: ['alpha', 'beta', 'gamma'] });
    expect(await storedRows(dataset.id)).toBe(100_000);
    expect(await recordCount(dataset.id)).toBe(100_000);
    const sample = await gateway.data<{ dataset: { records: { nodes: { text: string; label: string }[] } } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { records(first: 3, label: "beta") { nodes { text label } } } }',
      { id: dataset.id },
    );
    expect(sample.dataset.records.nodes).toEqual([
      { text: 'Record number 1, with a comma and "quotes"', label: 'beta' },
      { text: 'Record number 4, with a comma and "quotes"', label: 'beta' },
      { text: 'Record number 7, with a comma and "quotes"', label: 'beta' },
    ]);
  }, 120_000);

  it('imports JSONL with multi-line text, tabs, backslashes, non-ASCII and numeric labels exactly', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['7', 'a'] });
    const records = [
      { text: 'line one\nline two\ttabbed \\ backslash', label: 'a' },
      { text: 'Ünïcödé — 日本語 — emoji 🎉', label: 7 },
      { text: '\\N is not null here', label: 'a' },
    ];
    const body = `${records.map((r) => JSON.stringify(r)).join('\r\n')}\n\n`;
    const response = await importRecords(gateway, owner().token, dataset.id, body, 'application/x-ndjson');
    expect(response.body).toMatchObject({ imported: 3, labels: ['7', 'a'] });
    const read = await gateway.data<{ dataset: { records: { nodes: { text: string; label: string }[] } } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { records(first: 10) { nodes { text label } } } }',
      { id: dataset.id },
    );
    expect(read.dataset.records.nodes).toEqual(records.map((r) => ({ text: r.text, label: String(r.label) })));
  });

  it('accepts a multipart upload, and an unlabelled dataset ignores label columns', async () => {
    const dataset = await createDataset(gateway, owner(), { labelled: false });
    const form = new FormData();
    form.append('file', new Blob(['text,label\nhello,x\nworld,\n'], { type: 'text/csv' }), 'records.csv');
    const response = await fetch(`${gateway.url}/datasets/${dataset.id}/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner().token}` },
      body: form,
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ imported: 2, labels: [] });
  });

  it.each([
    ['start', 2],
    ['middle', 501],
    ['end', 1001],
  ])('imports nothing when a bad row is at the %s, and names its line', async (_, badLine) => {
    const dataset = await createDataset(gateway, owner(), { labels: ['x'] });
    const lines = ['text,label'];
    for (let line = 2; line <= 1001; line++) lines.push(line === badLine ? ',x' : `row ${line},x`);
    const response = await importRecords(gateway, owner().token, dataset.id, lines.join('\n'));
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problemCount: 1, problems: [{ line: badLine, field: 'text', rule: '"text" is empty' }] });
    expect(response.body.error?.message).toContain(`line ${badLine}: "text" is empty`);
    expect(await storedRows(dataset.id)).toBe(0);
    expect(await recordCount(dataset.id)).toBe(0);
  });

  it('lists the first 20 problems and counts the rest', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['x'] });
    const lines = ['text,label'];
    for (let i = 0; i < 50; i++) lines.push(i % 2 === 0 ? `ok ${i},x` : `missing label ${i},`);
    const response = await importRecords(gateway, owner().token, dataset.id, lines.join('\n'));
    expect(response.body.error?.problemCount).toBe(25);
    expect(response.body.error?.problems).toHaveLength(20);
    expect(response.body.error?.problems?.[0]).toEqual({ field: 'label', line: 3, rule: '"label" is empty (the dataset is labelled)' });
    expect(response.body.error?.message).toContain('and 5 more');
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('refuses invalid UTF-8, naming the line', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['x'] });
    const body = Buffer.concat([Buffer.from('text,label\ngood,x\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from(',x\n')]);
    const response = await importRecords(gateway, owner().token, dataset.id, body);
    expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ line: 3, rule: 'is not valid UTF-8' }] });
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('refuses an over-long record and a missing label', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['a'] });
    const long = await importRecords(gateway, owner().token, dataset.id, `text,label\n${'x'.repeat(1001)},a\n`);
    expect(long.body.error?.problems?.[0]).toEqual({ field: 'text', line: 2, rule: '"text" is longer than 1000 characters (IMPORT_MAX_RECORD_CHARS)' });
    const missing = await importRecords(gateway, owner().token, dataset.id, '{"text": "no label here"}\n', 'application/x-ndjson');
    expect(missing.body.error?.problems?.[0]).toEqual({ field: 'label', line: 1, rule: 'has no "label" (the dataset is labelled)' });
    const header = await importRecords(gateway, owner().token, dataset.id, 'body,label\nx,y\n');
    expect(header.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ line: 1, field: 'header' }] });
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('refuses JSONL lines that are not JSON objects, each by line', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['a'] });
    const body = '{"text": "fine", "label": "a"}\n{not json}\n["an", "array"]\n{"text": 42, "label": "a"}\n';
    const response = await importRecords(gateway, owner().token, dataset.id, body, 'application/x-ndjson');
    expect(response.body.error?.problems).toEqual([
      { field: 'line', line: 2, rule: 'is not valid JSON' },
      { field: 'line', line: 3, rule: 'is not a JSON object' },
      { field: 'text', line: 4, rule: '"text" must be a string' },
    ]);
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('refuses an empty file, a header-only file, a CSV row of the wrong width and an unknown content type', async () => {
    const dataset = await createDataset(gateway, owner());
    for (const body of ['', 'text,label\n']) {
      const response = await importRecords(gateway, owner().token, dataset.id, body);
      expect(response.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problems: [{ field: 'file', rule: 'contains no records' }] });
    }
    const width = await importRecords(gateway, owner().token, dataset.id, 'text,label\na,b,c\n');
    expect(width.body.error?.problems?.[0]).toEqual({ field: 'line', line: 2, rule: 'has 3 fields; the header has 2' });
    const quote = await importRecords(gateway, owner().token, dataset.id, 'text,label\n"unterminated,x\n');
    expect(quote.body.error?.code).toBe('BAD_USER_INPUT');
    const type = await importRecords(gateway, owner().token, dataset.id, 'text\n', 'application/pdf');
    expect(type.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'content-type' });
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('refuses a record whose label is not declared with UNDECLARED_LABEL, naming the line and the label, and imports nothing', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['common'] });
    const body = `text,label\none,common\ntwo,common\nthree,rare-condition-x\nfour,common\n`;
    const refused = await importRecords(gateway, owner().token, dataset.id, body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      code: 'UNDECLARED_LABEL',
      problemCount: 1,
      problems: [{ field: 'label', line: 4, rule: expect.stringContaining('label "rare-condition-x" is not declared') as string, code: 'UNDECLARED_LABEL' }],
    });
    expect(refused.body.error?.message).toContain('line 4: label "rare-condition-x" is not declared');
    expect(await storedRows(dataset.id)).toBe(0);
    expect(await recordCount(dataset.id)).toBe(0);
    // Mixed with another problem, the file is BAD_USER_INPUT; each problem keeps its own code.
    const mixed = await importRecords(gateway, owner().token, dataset.id, `text,label\n,common\nfive,other\n`);
    expect(mixed.body.error).toMatchObject({ code: 'BAD_USER_INPUT', problemCount: 2 });
    expect(mixed.body.error?.problems?.[1]).toMatchObject({ line: 3, code: 'UNDECLARED_LABEL' });
    // Once the owner declares the label, the same file imports, and the dataset's labels are the declared ones.
    const { updateDataset } = await gateway.data<{ updateDataset: { labels: string[] } }>(
      owner().token,
      'mutation($input: UpdateDatasetInput!) { updateDataset(input: $input) { labels } }',
      { input: { id: dataset.id, addLabels: ['rare-condition-x', ' common '] } },
    );
    expect(updateDataset.labels).toEqual(['common', 'rare-condition-x']);
    const accepted = await importRecords(gateway, owner().token, dataset.id, body);
    expect(accepted.body).toMatchObject({ imported: 4, labels: ['common', 'rare-condition-x'] });
  });

  it('keeps the declared labels whatever is imported: a label with no record stays, and none is added', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['never-used', 'used'] });
    const response = await importRecords(gateway, owner().token, dataset.id, 'text,label\nhello,used\n');
    expect(response.body).toMatchObject({ imported: 1, labels: ['never-used', 'used'] });
    const { dataset: read } = await gateway.data<{ dataset: { labels: string[]; labelsDerivedFromData: boolean } }>(
      owner().token,
      'query($id: ID!) { dataset(id: $id) { labels labelsDerivedFromData } }',
      { id: dataset.id },
    );
    expect(read).toEqual({ labels: ['never-used', 'used'], labelsDerivedFromData: false });
  });

  it('answers NOT_FOUND for another organisation\'s dataset, FORBIDDEN for roles that never import, UNAUTHENTICATED without a token', async () => {
    const dataset = await createDataset(gateway, owner());
    const other = await importRecords(gateway, globex.users.DATA_OWNER.token, dataset.id, 'text,label\nx,y\n');
    expect(other).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const compliance = await importRecords(gateway, acme.users.COMPLIANCE.token, dataset.id, 'text,label\nx,y\n');
    expect(compliance).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    const anonymous = await importRecords(gateway, null, dataset.id, 'text,label\nx,y\n');
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED' } } });
    const garbage = await importRecords(gateway, owner().token, 'not-an-id', 'text,label\nx,y\n');
    expect(garbage.body.error?.code).toBe('NOT_FOUND');
    expect(await storedRows(dataset.id)).toBe(0);
  });

  it('adds to earlier imports, and audits successes and failures with counts but no text', async () => {
    const dataset = await createDataset(gateway, owner(), { labels: ['a', 'b'] });
    await importRecords(gateway, owner().token, dataset.id, 'text,label\nsecret-one,a\n');
    await importRecords(gateway, owner().token, dataset.id, 'text,label\nsecret-two,b\nsecret-three,b\n');
    await importRecords(gateway, owner().token, dataset.id, 'text,label\n,b\n');
    expect(await recordCount(dataset.id)).toBe(3);
    const audit = await gateway.data<{ auditEvents: { nodes: { outcome: string; details: Record<string, unknown> }[] } }>(
      acme.users.COMPLIANCE.token,
      'query($id: String) { auditEvents(filter: { action: "records.import", subjectId: $id }) { nodes { outcome details } } }',
      { id: dataset.id },
    );
    expect(audit.auditEvents.nodes.map((n) => [n.outcome, n.details.rows ?? n.details.problemCount])).toEqual([
      ['FAILURE', 1],
      ['SUCCESS', 2],
      ['SUCCESS', 1],
    ]);
    expect(JSON.stringify(audit)).not.toContain('secret-');
  });
});
