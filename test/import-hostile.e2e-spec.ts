import { connect, type Socket } from 'node:net';
import { Client } from 'pg';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { waitUntil } from './setup/processes';

const BOUNDARY = 'synthgate-test-boundary';

/** The head of a multipart form whose one file part starts with `firstBytes` (no closing boundary). */
function multipartHead(firstBytes: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="records.csv"\r\nContent-Type: text/csv\r\n\r\n${firstBytes}`;
}

/**
 * A raw HTTP upload the test controls byte by byte: it announces `contentLength` bytes and sends
 * only what it is told to, so it can stall or hang up mid-file as a real client might.
 */
function openUpload(gateway: TestGateway, token: string, datasetId: string, contentType: string, contentLength: number): { socket: Socket; response: Promise<string> } {
  const { port } = new URL(gateway.url);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  socket.write(
    `POST /datasets/${datasetId}/records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n`,
  );
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
  socket.on('error', () => undefined);
  const response = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  return { socket, response };
}

function csvRows(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `stalled record ${from + i},a\n`).join('');
}

/**
 * Uploads that go wrong on the wire: a multipart form without its closing boundary, clients that
 * hang up mid-import, too many imports at once, and single lines far beyond any record's size.
 */
describe('record import under hostile uploads', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let db: Client;

  beforeAll(async () => {
    gateway = await startTestGateway({ IMPORT_MAX_RECORD_CHARS: '1000', IMPORT_MAX_CONCURRENT: '3', IMPORT_MAX_CONCURRENT_PER_ORGANIZATION: '2' });
    acme = await createOrganization(gateway);
    globex = await createOrganization(gateway);
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await gateway?.close();
  });

  /** Gateway sessions inside a transaction (an import holds one from its lock to its commit). */
  async function openTransactions(): Promise<number> {
    const { rows } = await db.query<{ count: string }>(
      `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND application_name <> 'pg-boss'`,
    );
    return Number(rows[0]!.count);
  }

  async function copyRunning(): Promise<boolean> {
    const { rows } = await db.query<{ count: string }>(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()`);
    return Number(rows[0]!.count) > 0;
  }

  /** True when the dataset's row lock is free (an import holds it until it commits or rolls back). */
  async function lockFree(datasetId: string): Promise<boolean> {
    await db.query('BEGIN');
    try {
      await db.query('SELECT id FROM dataset WHERE id = $1 FOR UPDATE NOWAIT', [datasetId]);
      return true;
    } catch {
      return false;
    } finally {
      await db.query('ROLLBACK');
    }
  }

  const stored = (datasetId: string) => gateway.database.repositories.records.countByDataset(datasetId);

  it('answers a multipart form without its closing boundary with BAD_USER_INPUT, imports nothing and keeps serving', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const body = multipartHead('text,label\nfirst,a\nsecond,b\n');
    const upload = openUpload(gateway, acme.users.DATA_OWNER.token, dataset.id, `multipart/form-data; boundary=${BOUNDARY}`, Buffer.byteLength(body));
    upload.socket.write(body);
    const response = await upload.response;
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    expect(response).toContain('"code":"BAD_USER_INPUT"');
    expect(response).toContain('Unexpected end of form');
    expect(await stored(dataset.id)).toBe(0);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    expect(await lockFree(dataset.id)).toBe(true);
  });

  it.each([
    ['multipart/form-data', true],
    ['text/csv', false],
  ])('a client hanging up mid-import (%s) rolls it back and frees its lock and connection within a second', async (_, multipart) => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const first = `text,label\n${csvRows(0, 2000)}`;
    const contentType = multipart ? `multipart/form-data; boundary=${BOUNDARY}` : 'text/csv';
    const upload = openUpload(gateway, acme.users.DATA_OWNER.token, dataset.id, contentType, 50_000_000);
    upload.socket.write(multipart ? multipartHead(first) : first);
    await waitUntil(copyRunning, 10_000, 'the import to start its COPY');
    expect(await lockFree(dataset.id)).toBe(false);
    upload.socket.destroy();
    const cut = Date.now();
    await waitUntil(async () => (await openTransactions()) === 0 && (await lockFree(dataset.id)), 1000, 'the import to roll back');
    expect(Date.now() - cut).toBeLessThan(1000);
    expect(await stored(dataset.id)).toBe(0);
    const next = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text,label\nafter the hang-up,a\n');
    expect(next.status).toBe(201);
  });

  it('after 12 multipart uploads hung up mid-file, health and GraphQL still answer at once for everyone', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    for (let i = 0; i < 12; i++) {
      // Each upload's own COPY is the one seen running: the previous one is gone first.
      await waitUntil(async () => !(await copyRunning()), 2000, 'the previous import to roll back');
      const upload = openUpload(gateway, acme.users.DATA_OWNER.token, dataset.id, `multipart/form-data; boundary=${BOUNDARY}`, 50_000_000);
      upload.socket.write(multipartHead(`text,label\n${csvRows(0, 500)}`));
      await waitUntil(copyRunning, 10_000, 'the import to start its COPY');
      upload.socket.destroy();
    }
    await waitUntil(async () => (await openTransactions()) === 0, 2000, 'every aborted import to roll back');
    const started = Date.now();
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
    const me = await gateway.data<{ me: { id: string } }>(globex.users.CONSUMER.token, '{ me { id } }');
    expect(me.me.id).toBe(globex.users.CONSUMER.id);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await stored(dataset.id)).toBe(0);
  });

  it('refuses imports beyond the per-organisation and total bounds with TOO_MANY_IMPORTS, and frees the slots of aborted ones', async () => {
    const acmeSets = [await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] }), await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] }), await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] })];
    const globexSets = [await createDataset(gateway, globex.users.DATA_OWNER, { labels: ['a', 'b'] }), await createDataset(gateway, globex.users.DATA_OWNER, { labels: ['a', 'b'] })];
    const stall = async (token: string, datasetId: string) => {
      const upload = openUpload(gateway, token, datasetId, 'text/csv', 50_000_000);
      upload.socket.write(`text,label\n${csvRows(0, 100)}`);
      await waitUntil(async () => !(await lockFree(datasetId)), 10_000, 'the import to take its lock');
      return upload;
    };
    const stalled = [await stall(acme.users.DATA_OWNER.token, acmeSets[0]!.id), await stall(acme.users.DATA_OWNER.token, acmeSets[1]!.id)];
    const perOrganization = await importRecords(gateway, acme.users.DATA_OWNER.token, acmeSets[2]!.id, 'text,label\nthird,a\n');
    expect(perOrganization.status).toBe(429);
    expect(perOrganization.body.error).toMatchObject({ code: 'TOO_MANY_IMPORTS' });
    expect(perOrganization.body.error?.message).toContain('IMPORT_MAX_CONCURRENT_PER_ORGANIZATION');
    stalled.push(await stall(globex.users.DATA_OWNER.token, globexSets[0]!.id));
    const total = await importRecords(gateway, globex.users.DATA_OWNER.token, globexSets[1]!.id, 'text,label\nfourth,a\n');
    expect(total.status).toBe(429);
    expect(total.body.error?.message).toContain('IMPORT_MAX_CONCURRENT');
    for (const upload of stalled) upload.socket.destroy();
    await waitUntil(async () => (await openTransactions()) === 0, 2000, 'the stalled imports to roll back');
    const again = await importRecords(gateway, acme.users.DATA_OWNER.token, acmeSets[2]!.id, 'text,label\nthird,a\n');
    expect(again.status).toBe(201);
    expect(await stored(acmeSets[0]!.id)).toBe(0);
  });

  it('refuses a 5 MB JSON line at once, naming its line, and still reports the lines after it', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const huge = JSON.stringify({ text: 'x'.repeat(5 * 1024 * 1024), label: 'a' });
    const body = `{"text": "fine", "label": "a"}\n${huge}\n{"text": 42, "label": "a"}\n`;
    const started = Date.now();
    const response = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, body, 'application/x-ndjson');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(response.status).toBe(400);
    expect(response.body.error?.problems).toEqual([
      { field: 'line', line: 2, rule: 'is longer than 71536 characters (the limit is 6 x IMPORT_MAX_RECORD_CHARS + 65536)' },
      { field: 'text', line: 3, rule: '"text" must be a string' },
    ]);
    expect(await stored(dataset.id)).toBe(0);
  });

  it('refuses a 5 MB CSV record by its line, and never echoes record text in a CSV quote error', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const huge = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, `text,label\nfine,a\n"${'y'.repeat(5 * 1024 * 1024)}",a\n`);
    expect(huge.status).toBe(400);
    expect(huge.body.error?.problems?.[0]).toMatchObject({ field: 'line', rule: 'is longer than 71536 characters (the limit is 6 x IMPORT_MAX_RECORD_CHARS + 65536)' });
    const quotes = [
      'text,label\nsecret-opening "quoted" words,a\n',
      'text,label\n"secret-closing" words,a\n',
      'text,label\n"secret-unclosed words,a\n',
    ];
    for (const body of quotes) {
      const response = await importRecords(gateway, acme.users.DATA_OWNER.token, dataset.id, body);
      expect(response.status).toBe(400);
      expect(response.body.error?.code).toBe('BAD_USER_INPUT');
      expect(response.body.error?.problems?.[0]).toMatchObject({ field: 'line', line: 2 });
      expect(JSON.stringify(response.body)).not.toContain('secret');
      expect(JSON.stringify(response.body)).not.toContain('words');
    }
    expect(await stored(dataset.id)).toBe(0);
  });
});

describe('record import from a client that stalls', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let db: Client;

  beforeAll(async () => {
    gateway = await startTestGateway({ IMPORT_STALL_TIMEOUT_SECONDS: '1' });
    acme = await createOrganization(gateway);
    db = new Client({ connectionString: gateway.databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await gateway?.close();
  });

  async function lockFree(datasetId: string): Promise<boolean> {
    await db.query('BEGIN');
    try {
      await db.query('SELECT id FROM dataset WHERE id = $1 FOR UPDATE NOWAIT', [datasetId]);
      return true;
    } catch {
      return false;
    } finally {
      await db.query('ROLLBACK');
    }
  }

  it('aborts an upload that sends nothing for IMPORT_STALL_TIMEOUT_SECONDS, answering why, and frees its lock', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const upload = openUpload(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text/csv', 1_000_000);
    upload.socket.write(`text,label\n${csvRows(0, 100)}`);
    await waitUntil(async () => !(await lockFree(dataset.id)), 10_000, 'the import to take its lock');
    const stalledAt = Date.now();
    const response = await upload.response;
    expect(Date.now() - stalledAt).toBeLessThan(4000);
    expect(response).toMatch(/^HTTP\/1\.1 400/);
    expect(response).toContain('IMPORT_STALL_TIMEOUT_SECONDS');
    expect(await lockFree(dataset.id)).toBe(true);
    expect(await gateway.database.repositories.records.countByDataset(dataset.id)).toBe(0);
  });

  it('lets a slow upload that keeps sending finish', async () => {
    const dataset = await createDataset(gateway, acme.users.DATA_OWNER, { labels: ['a', 'b'] });
    const chunks = [`text,label\n`, ...Array.from({ length: 6 }, (_, i) => csvRows(i * 10, 10))];
    const body = chunks.join('');
    const upload = openUpload(gateway, acme.users.DATA_OWNER.token, dataset.id, 'text/csv', Buffer.byteLength(body));
    for (const chunk of chunks) {
      upload.socket.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    const response = await upload.response;
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(await gateway.database.repositories.records.countByDataset(dataset.id)).toBe(60);
  });
});
