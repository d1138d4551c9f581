import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDataset, createOrganization, type TestOrganization } from './setup/factories';
import { createTestModelsDir } from './setup/models';
import { type GatewayProcess, spawnGateway } from './setup/processes';
import { createTestDatabase } from './setup/test-database';

/** What one request of the corpus got back. */
interface Answer {
  readonly status: number;
  readonly codes: readonly string[];
}

const GRAPHQL_BAD_REQUEST_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST', 'OPERATION_RESOLUTION_FAILURE']);
const IMPORT_REFUSAL_CODES = new Set(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE', 'NOT_FOUND', 'FORBIDDEN', 'UNAUTHENTICATED']);

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const aliases = (count: number, selection: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${selection}`).join(' ')} }`;

/** A deterministic byte generator (xorshift32), so the garbage bodies are the same on every run. */
function garbage(seed: number, length: number): Buffer {
  let state = seed >>> 0 || 1;
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[i] = state & 0xff;
  }
  return bytes;
}

/** GraphQL bad requests: [name, query, variables]. Each must answer 400 with a GraphQL bad-request code. */
function graphqlCorpus(datasetId: string): [string, string, Record<string, unknown>?][] {
  const verify = `verifyLedger(datasetId: "${datasetId}") { ok }`;
  return [
    ['an empty document', ''],
    ['an unclosed brace', '{'],
    ['a cut-off selection', '{ me { id '],
    ['only closing braces', '}}}}'],
    ['a bare keyword', 'mutation'],
    ['an argument without a value', '{ dataset(id: ) { id } }'],
    ['control characters', '{ me \u0001 { id } }'],
    ['a string that never ends', '{ dataset(id: "abc) { id } }'],
    ['3,000 nested selections', `${'{ me '.repeat(3000)}${'}'.repeat(3000)}`],
    ['100,000 nested selections', `${'{a'.repeat(100_000)}${'}'.repeat(100_000)}`],
    ['100,000 nested list values', `{ dataset(id: ${'['.repeat(100_000)}${']'.repeat(100_000)}) { id } }`],
    ['a two-fragment cycle', 'query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }'],
    ['a fragment spreading itself', 'query { ...A } fragment A on Query { me { id } ...A }'],
    ['a cycle through a field', 'query { me { ...U } } fragment U on User { organization { id } ...V } fragment V on User { ...U }'],
    ['a chain of 5,000 fragments', `{ me { ...F0 } } ${Array.from({ length: 5000 }, (_, i) => `fragment F${i} on User { id ${i < 4999 ? `...F${i + 1}` : ''} }`).join(' ')}`],
    ['a chain of 1,000 fragments (under the token limit)', `{ me { ...F0 } } ${Array.from({ length: 1000 }, (_, i) => `fragment F${i} on User { id ${i < 999 ? `...F${i + 1}` : ''} }`).join(' ')} query Q { x }`],
    ['a cycle inside an inline fragment', 'query { ...A } fragment A on Query { ... on Query { ...A } }'],
    ['an unknown fragment', '{ ...Nowhere }'],
    ['an unknown field', '{ me { nothing } }'],
    ['a missing subselection', '{ me }'],
    ['a subselection on a scalar', '{ me { id { x } } }'],
    ['a missing required argument', '{ dataset { id } }'],
    ['an unknown argument', '{ me(all: true) { id } }'],
    ['a string for an Int literal', '{ datasets(first: "ten") { nodes { id } } }'],
    ['an Int literal overflow', '{ datasets(first: 99999999999) { nodes { id } } }'],
    ['a float for an Int literal', '{ datasets(first: 1.5) { nodes { id } } }'],
    ['an invalid enum literal', '{ auditEvents(filter: { outcome: MAYBE }) { nodes { id } } }'],
    ['a DateTime literal "yesterday"', '{ auditEvents(filter: { since: "yesterday" }) { nodes { id } } }'],
    ['a DateTime literal on February 31st', '{ auditEvents(filter: { until: "2026-02-31T00:00:00Z" }) { nodes { id } } }'],
    ['a DateTime literal as a number', '{ auditEvents(filter: { since: 1700000000 }) { nodes { id } } }'],
    ['deeper than GRAPHQL_MAX_DEPTH', '{ datasets { edges { node { budget { ledger { edges { node { sequence } } } } } } } }'],
    ['an undefined variable', '{ dataset(id: $id) { id } }'],
    ['an unused variable', 'query($id: ID) { me { id } }'],
    ['a variable in the wrong position', 'query($first: String) { datasets(first: $first) { nodes { id } } }'],
    ['two operations with one name', 'query A { me { id } } query A { me { id } }'],
    ['an anonymous operation beside a named one', '{ me { id } } query B { me { id } }'],
    ['a string variable for an Int', 'query($first: Int) { datasets(first: $first) { nodes { id } } }', { first: 'ten' }],
    ['an Int variable overflow', 'query($first: Int) { datasets(first: $first) { nodes { id } } }', { first: 2 ** 31 }],
    ['a huge number variable', 'query($first: Int) { datasets(first: $first) { nodes { id } } }', { first: 1e100 }],
    ['a float variable for an Int', 'query($first: Int) { datasets(first: $first) { nodes { id } } }', { first: 1.5 }],
    ['null for a non-null variable', 'query($id: ID!) { dataset(id: $id) { id } }', { id: null }],
    ['a missing required variable', 'query($id: ID!) { dataset(id: $id) { id } }', {}],
    ['an object for an ID variable', 'query($id: ID!) { dataset(id: $id) { id } }', { id: { $ne: null } }],
    ['an invalid enum variable', 'query($filter: AuditFilter) { auditEvents(filter: $filter) { nodes { id } } }', { filter: { outcome: 'MAYBE' } }],
    ['a DateTime variable "yesterday"', 'query($filter: AuditFilter) { auditEvents(filter: $filter) { nodes { id } } }', { filter: { since: 'yesterday' } }],
    ['an unknown input field', 'query($filter: AuditFilter) { auditEvents(filter: $filter) { nodes { id } } }', { filter: { sql: 'DROP TABLE' } }],
    ['a list for an input object', 'query($filter: AuditFilter) { auditEvents(filter: $filter) { nodes { id } } }', { filter: [1, 2] }],
    ['5,000 aliases', aliases(5000, 'me { id }')],
    ['900 aliased verifyLedger', aliases(900, verify)],
    ['25 aliased verifyLedger', aliases(25, verify)],
    ['20 aliased pages of 100 datasets', aliases(20, 'datasets(first: 100) { nodes { id name } }')],
    ['a cursor that is not base64 JSON', '{ datasets(after: "garbage!") { nodes { id } } }'],
    ['a cursor with "yesterday" for its time', `{ datasets(after: "${b64('["yesterday","x"]')}") { nodes { id } } }`],
    ['a cursor with SQL for its id', `{ datasets(after: "${b64(`["2026-01-01T00:00:00.000Z","' OR 1=1 --"]`)}") { nodes { id } } }`],
    ['a cursor with a 31st of February', `{ releases(after: "${b64('["2026-02-31T00:00:00.000Z","4b0f6f0e-8a3c-4d3a-9c55-6f1b2a7d9e01"]')}") { nodes { id } } }`],
    ['a cursor with an object inside', `{ releases(after: "${b64('[{"a":1},"x"]')}") { nodes { id } } }`],
    ['an audit cursor with a word', `{ auditEvents(after: "${b64('["abc"]')}") { nodes { id } } }`],
    ['an audit cursor with a negative id', `{ auditEvents(after: "${b64('[-1]')}") { nodes { id } } }`],
    ['an audit cursor beyond bigint', `{ auditEvents(after: "${b64('["99999999999999999999"]')}") { nodes { id } } }`],
    ['a records cursor with 1e999', `{ dataset(id: "${datasetId}") { records(after: "${b64('[1e999]')}") { nodes { id } } } }`],
    ['a ledger cursor with a time', `{ dataset(id: "${datasetId}") { budget { ledger(after: "${b64('["2026-01-01T00:00:00.000Z","x"]')}") { nodes { sequence } } } } }`],
    ['first: 0', '{ datasets(first: 0) { nodes { id } } }'],
    ['first: -1', '{ datasets(first: -1) { nodes { id } } }'],
    ['first: 101', '{ datasets(first: 101) { nodes { id } } }'],
    ['a dataset with a negative epsilon', 'mutation { createDataset(input: { name: "x1", textField: "text", budget: { epsilon: -1, delta: 1e-6 } }) { id } }'],
    ['a dataset with delta 2', 'mutation { createDataset(input: { name: "x2", textField: "text", budget: { epsilon: 1, delta: 2 } }) { id } }'],
    ['a dataset with NaN-like epsilon', 'mutation($e: Float!) { createDataset(input: { name: "x3", textField: "text", budget: { epsilon: $e, delta: 1e-6 } }) { id } }', { e: 'NaN' }],
    ['a release with expectedBatchSize 0', `mutation { createRelease(input: { datasetId: "${datasetId}", expectedBatchSize: 0, privateTokenCap: 1 }) { id } }`],
    ['a release with countSigma 20000', `mutation { createRelease(input: { datasetId: "${datasetId}", expectedBatchSize: 1, privateTokenCap: 1, labelAllocation: { mode: DP_COUNT, countSigma: 20000 } }) { id } }`],
    ['a plan with a 1e308 clip', `{ planRelease(input: { datasetId: "${datasetId}", expectedBatchSize: 1, clip: 1e308, privateTokenCap: 1 }) { admitted } }`],
  ];
}

describe('bad-input corpus against a gateway process', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let dataDir: string;
  let gateway: GatewayProcess;
  let acme: TestOrganization;
  let dataset: { id: string };
  let outputBefore = 0;
  const answers: { name: string; answer: Answer }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'synthgate-bad-input-'));
    gateway = await spawnGateway({
      DATABASE_URL: database.url,
      SYNTHGATE_DATA_DIR: dataDir,
      MODELS_DIR: createTestModelsDir(),
      DEFAULT_MODEL: 'tiny',
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_MINUTE: '100000',
      IMPORT_MAX_RECORD_CHARS: '1000',
      IMPORT_MAX_BYTES: String(256 * 1024),
      GRAPHQL_MAX_DEPTH: '6',
    });
    acme = await createOrganization(gateway);
    dataset = await createDataset(gateway, acme.users.DATA_OWNER);
    outputBefore = gateway.output().length;
  }, 120_000);

  afterAll(async () => {
    if (gateway?.child.exitCode === null) gateway.child.kill('SIGKILL');
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function graphql(query: string, variables?: Record<string, unknown>): Promise<Answer> {
    // Audit events are COMPLIANCE's to read; everything else is asked as the data owner.
    const user = query.includes('auditEvents') ? acme.users.COMPLIANCE : acme.users.DATA_OWNER;
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[]; error?: { code: string } };
    return { status: response.status, codes: body.errors?.map((e) => e.extensions?.code ?? 'NONE') ?? (body.error ? [body.error.code] : []) };
  }

  it.each(graphqlCorpus('00000000-0000-4000-8000-000000000000').map(([name], index) => [name, index] as const))(
    'GraphQL: %s answers 400 with a stable bad-request code',
    async (name, index) => {
      const [, query, variables] = graphqlCorpus(dataset.id)[index]!;
      const answer = await graphql(query, variables);
      answers.push({ name, answer });
      expect(answer.status).toBe(400);
      expect(answer.codes.length).toBeGreaterThan(0);
      for (const code of answer.codes) expect(GRAPHQL_BAD_REQUEST_CODES).toContain(code);
    },
  );

  it.each([
    ['a body that is not JSON', '{"query": '],
    ['a query that is a number', JSON.stringify({ query: 42 })],
    ['no query at all', JSON.stringify({ variables: {} })],
    ['variables as a string', JSON.stringify({ query: '{ me { id } }', variables: 'x' })],
    ['a batch (batching is off)', JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }])],
    ['an unknown operation name', JSON.stringify({ query: 'query A { me { id } }', operationName: 'B' })],
    ['100,000 nested arrays for an ID variable', `{"query": "query($id: ID!) { dataset(id: $id) { id } }", "variables": {"id": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`],
    ['100,000 nested objects for an input variable', `{"query": "query($f: AuditFilter) { auditEvents(filter: $f) { nodes { id } } }", "variables": {"f": ${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}}`],
  ])('GraphQL transport: %s answers 400', async (name, body) => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${acme.users.DATA_OWNER.token}` },
      body,
    });
    const answer = { status: response.status, codes: [] };
    answers.push({ name, answer });
    expect(response.status).toBe(400);
  });

  async function importBody(body: string | Buffer, contentType: string, options: { token?: string | null; datasetId?: string; query?: string } = {}): Promise<Answer> {
    const token = options.token === undefined ? acme.users.DATA_OWNER.token : options.token;
    const response = await fetch(`${gateway.url}/datasets/${options.datasetId ?? dataset.id}/records${options.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body,
    });
    const json = (await response.json()) as { error?: { code: string } };
    return { status: response.status, codes: json.error ? [json.error.code] : [] };
  }

  const csv = (body: string | Buffer) => () => importBody(body, 'text/csv');
  const jsonl = (body: string | Buffer) => () => importBody(body, 'application/x-ndjson');
  const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part))));
  const multipart = (parts: string) => () => importBody(parts, 'multipart/form-data; boundary=XyZ');
  const filePart = (name: string, type: string, content: string) => `--XyZ\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n${content}\r\n`;

  const importCorpus: [string, () => Promise<Answer>][] = [
    ['CSV: an empty file', csv('')],
    ['CSV: a header only', csv('text,label\n')],
    ['CSV: only blank lines', csv('\n\n\r\n\n')],
    ['CSV: a BOM only', csv('\uFEFF')],
    ['CSV: no text column', csv('body,label\nx,a\n')],
    ['CSV: no label column', csv('text,kind\nx,a\n')],
    ['CSV: a row too wide', csv('text,label\na,b,c\n')],
    ['CSV: a row too narrow', csv('text,label\nonly\n')],
    ['CSV: an empty text', csv('text,label\n,a\n')],
    ['CSV: an empty label', csv('text,label\nx,\n')],
    ['CSV: a blank text', csv('text,label\n"   ",a\n')],
    ['CSV: a quote in an unquoted field', csv('text,label\nsay "hi",a\n')],
    ['CSV: a character after a closing quote', csv('text,label\n"hi"x,a\n')],
    ['CSV: a quote never closed', csv('text,label\n"never closed,a\n')],
    ['CSV: a NUL in the text', csv('text,label\nnul\u0000here,a\n')],
    ['CSV: a text over IMPORT_MAX_RECORD_CHARS', csv(`text,label\n${'x'.repeat(1001)},a\n`)],
    ['CSV: a record over the line cap', csv(`text,label\n"${'y'.repeat(80_000)}",a\n`)],
    ['CSV: a label over 200 characters', csv(`text,label\nx,${'l'.repeat(201)}\n`)],
    ['CSV: invalid UTF-8 (0xff)', csv(bytes('text,label\nbad ', [0xff], ',a\n'))],
    ['CSV: an overlong UTF-8 slash', csv(bytes('text,label\nbad ', [0xc0, 0xaf], ',a\n'))],
    ['CSV: a UTF-8 surrogate', csv(bytes('text,label\nbad ', [0xed, 0xa0, 0x80], ',a\n'))],
    ['CSV: a code point above U+10FFFF', csv(bytes('text,label\nbad ', [0xf5, 0x80, 0x80, 0x80], ',a\n'))],
    ['CSV: UTF-8 cut off at the end', csv(bytes('text,label\nbad,a\n', [0xe2, 0x82]))],
    ['CSV: UTF-16 with its BOM', csv(Buffer.from('\uFEFFtext,label\nx,a\n', 'utf16le'))],
    ['CSV: 4 KB of garbage', csv(garbage(1, 4096))],
    ['CSV: 64 KB of garbage', csv(garbage(2, 65_536))],
    ['CSV: 10,000 empty columns', csv(`${','.repeat(10_000)}\n`)],
    ['CSV: 300 KB over IMPORT_MAX_BYTES', csv(`text,label\n${'z,a\n'.repeat(80_000)}`)],
    ['JSONL: not JSON', jsonl('{not json}\n')],
    ['JSONL: an array', jsonl('["x", "a"]\n')],
    ['JSONL: a number', jsonl('42\n')],
    ['JSONL: a string', jsonl('"text"\n')],
    ['JSONL: null', jsonl('null\n')],
    ['JSONL: cut-off JSON', jsonl('{"text": "x", "label": \n')],
    ['JSONL: no text', jsonl('{"label": "a"}\n')],
    ['JSONL: an empty object', jsonl('{}\n')],
    ['JSONL: text as a number', jsonl('{"text": 7, "label": "a"}\n')],
    ['JSONL: text as an object', jsonl('{"text": {"$ne": null}, "label": "a"}\n')],
    ['JSONL: label as an object', jsonl('{"text": "x", "label": {"a": 1}}\n')],
    ['JSONL: label as an array', jsonl('{"text": "x", "label": ["a"]}\n')],
    ['JSONL: label as a boolean', jsonl('{"text": "x", "label": true}\n')],
    ['JSONL: a NUL escape in the text', jsonl('{"text": "a\\u0000b", "label": "a"}\n')],
    ['JSONL: a __proto__ key', jsonl('{"__proto__": {"text": "x", "label": "a"}}\n')],
    ['JSONL: 100,000 nested arrays', jsonl(`${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)],
    ['JSONL: a number beyond doubles', jsonl('{"text": "x", "label": 1e999}\n')],
    ['JSONL: a line over the cap', jsonl(`${JSON.stringify({ text: 'x'.repeat(100_000), label: 'a' })}\n`)],
    ['JSONL: a lone surrogate escape', jsonl('{"text": "\\ud800", "label": "a"}\n{"text": "", "label": "a"}\n')],
    ['JSONL: invalid UTF-8', jsonl(bytes('{"text": "', [0xc3, 0x28], '", "label": "a"}\n'))],
    ['JSONL: 16 KB of garbage', jsonl(garbage(3, 16_384))],
    ['an unknown content type', () => importBody('text,label\nx,a\n', 'application/pdf')],
    ['no content type', () => importBody('text,label\nx,a\n', '')],
    ['?format=xml', () => importBody('text,label\nx,a\n', 'text/csv', { query: '?format=xml' })],
    ['a dataset id that is not a uuid', () => importBody('text,label\nx,a\n', 'text/csv', { datasetId: "1' OR '1'='1" })],
    ['a dataset that does not exist', () => importBody('text,label\nx,a\n', 'text/csv', { datasetId: '00000000-0000-4000-8000-000000000000' })],
    ['no token', () => importBody('text,label\nx,a\n', 'text/csv', { token: null })],
    ['a forged token', () => importBody('text,label\nx,a\n', 'text/csv', { token: 'sg_forged_0123456789abcdef' })],
    ['a role that never imports', () => importBody('text,label\nx,a\n', 'text/csv', { token: acme.users.CONSUMER.token })],
    ['multipart without a boundary', () => importBody('--x\r\n', 'multipart/form-data')],
    ['multipart with garbage for a body', multipart(garbage(4, 2048).toString('latin1'))],
    ['multipart with no file part', multipart('--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--XyZ--\r\n')],
    ['multipart with a .pdf file', multipart(`${filePart('records.pdf', 'application/pdf', 'x')}--XyZ--\r\n`)],
    ['multipart with a bad CSV file', multipart(`${filePart('records.csv', 'text/csv', 'text,label\n,a')}--XyZ--\r\n`)],
    ['multipart with two files, the first bad', multipart(`${filePart('a.csv', 'text/csv', 'text,label\n"open')}${filePart('b.csv', 'text/csv', 'text,label\nx,a')}--XyZ--\r\n`)],
    ['multipart without its closing boundary', multipart(filePart('records.csv', 'text/csv', 'text,label\nx,a\ny,b\n'))],
    ['multipart cut in its part headers', multipart('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\nContent-Ty')],
  ];

  it.each(importCorpus.map(([name], index) => [name, index] as const))('import: %s is refused with a 4xx and a stable code', async (name, index) => {
    const answer = await importCorpus[index]![1]();
    answers.push({ name, answer });
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.codes).toHaveLength(1);
    expect(IMPORT_REFUSAL_CODES).toContain(answer.codes[0]);
  });

  it('survives malformed HTTP framing and a hang-up mid-import', async () => {
    const { port } = new URL(gateway.url);
    const raw = (text: string, hangUp: boolean) =>
      new Promise<void>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: Number(port) }, () => {
          socket.write(text);
          if (hangUp) setTimeout(() => socket.destroy(), 300);
        });
        socket.on('error', () => undefined);
        socket.on('data', () => undefined);
        socket.on('close', () => resolve());
        setTimeout(() => socket.destroy(), 3000);
      });
    const head = (contentType: string, extra: string) =>
      `POST /datasets/${dataset.id}/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${acme.users.DATA_OWNER.token}\r\nContent-Type: ${contentType}\r\n${extra}\r\n`;
    await raw(`${head('text/csv', 'Transfer-Encoding: chunked\r\n')}zz\r\nnot a chunk\r\n`, false);
    await raw(`${head('text/csv', 'Content-Length: 10\r\nContent-Length: 12\r\n')}text,label\n`, false);
    await raw(`${head('text/csv', 'Content-Length: 100000\r\n')}text,label\nhalf,a\n`, true);
    await raw(`${head('multipart/form-data; boundary=XyZ', 'Content-Length: 100000\r\n')}${filePart('r.csv', 'text/csv', 'text,label\nhalf,a\n')}`, true);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
  });

  it('after the whole corpus: over 100 requests, no 5xx, nothing imported, the process alive, and no error-level log line', async () => {
    expect(answers.length).toBeGreaterThanOrEqual(100);
    expect(answers.filter(({ answer }) => answer.status >= 500)).toEqual([]);
    expect(answers.filter(({ answer }) => answer.codes.includes('INTERNAL_SERVER_ERROR'))).toEqual([]);
    const { dataset: read } = await gateway.data<{ dataset: { recordCount: number } }>(acme.users.DATA_OWNER.token, 'query($id: ID!) { dataset(id: $id) { recordCount } }', {
      id: dataset.id,
    });
    expect(read.recordCount).toBe(0);
    expect(gateway.child.exitCode).toBeNull();
    const lines = gateway.output().slice(outputBefore).split('\n').filter((line) => line.trim().length > 0);
    const errorLines = lines.filter((line) => {
      try {
        return (JSON.parse(line) as { level?: number }).level! >= 50;
      } catch {
        return true; // anything not a structured log line (a stack trace, console.error) counts as an error
      }
    });
    expect(errorLines).toEqual([]);
    expect(lines.filter((line) => line.includes('"status":4')).length).toBeGreaterThanOrEqual(100);
  });
});
