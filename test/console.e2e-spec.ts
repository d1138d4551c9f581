/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { strFromU8, unzipSync } from 'fflate';
import { buildClientSchema, getIntrospectionQuery, type IntrospectionQuery, parse, validate } from 'graphql';
import { readParquet } from 'parquet-wasm';
import { Client } from 'pg';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { ALL_OPERATIONS } from '../console/src/api/operations';
import { createDataset, createOrganization, createStructuredDataset, importRecords, type TestOrganization, type TestUser, ticketSchema } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';
import { startTestWorker, waitForRelease } from './setup/worker';

// The web console (console/, served at /console) driven in Debian's Chromium against the real
// gateway, database and worker. Screenshots of the three main pages go to docs/console/.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const SCREENSHOTS = join(__dirname, '..', 'docs', 'console');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  process.stdout.write(`\nconsole browser tests skipped: ${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)\n`);
}
const describeInBrowser = hasChromium ? describe : describe.skip;

function records(count: number, labels = ['billing', 'hardware']): string {
  const lines = ['text,label'];
  for (let i = 0; i < count; i++) lines.push(`"Ticket ${i}: the printer on floor ${i % 7} jams again",${labels[i % labels.length]}`);
  return `${lines.join('\n')}\n`;
}

describe('web console: served by the gateway', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('serves the built app at /console with its own content security policy, routes fall back to index.html, missing assets are 404', async () => {
    const index = await fetch(`${gateway.url}/console/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    expect(html).toContain('<div id="root"></div>');
    const policy = index.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).not.toContain('upgrade-insecure-requests');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script for the policy to allow

    const route = await fetch(`${gateway.url}/console/releases/0b5e6c1e-0000-4000-8000-000000000000`);
    expect(route.status).toBe(200);
    expect(await route.text()).toBe(html);
    expect((await fetch(`${gateway.url}/console`)).status).toBe(200);

    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${gateway.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${gateway.url}/console/assets/index-missing.js`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${gateway.url}/console/assets/..%2f..%2fpackage.json`)).headers.get('content-type')).toMatch(/text\/html/);
    // The API keeps helmet's policy; only the console's responses carry their own.
    expect((await fetch(`${gateway.url}/health`)).headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  });

  it("every GraphQL operation the console sends is valid against the gateway's schema", async () => {
    const schema = buildClientSchema(await gateway.data<IntrospectionQuery>(gateway.adminToken, getIntrospectionQuery()));
    const problems = Object.entries(ALL_OPERATIONS).flatMap(([name, document]) => validate(schema, parse(document)).map((error) => `${name}: ${error.message}`));
    expect(problems).toEqual([]);
    expect(Object.keys(ALL_OPERATIONS).length).toBeGreaterThanOrEqual(16);
  });
});

describeInBrowser('web console in Chromium: each role sees what it may, and no more', () => {
  let gateway: TestGateway;
  let worker: Awaited<ReturnType<typeof startTestWorker>> | null = null;
  let browser: Browser;
  let acme: TestOrganization;
  let globex: TestOrganization;
  let datasetId: string;
  let datasetName: string;
  let releaseId: string;
  const contexts: BrowserContext[] = [];
  /** Page errors and console errors (a CSP violation is one) of every page, checked at the end. */
  const browserErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
    acme = await createOrganization(gateway, `Acme Health ${Date.now().toString(36)}`);
    globex = await createOrganization(gateway, `Globex Research ${Date.now().toString(36)}`);
    datasetName = `support-tickets-${Date.now().toString(36)}`;
    datasetId = (await createDataset(gateway, acme.users.DATA_OWNER, { epsilon: 8, delta: 1e-6, name: datasetName })).id;
    expect((await importRecords(gateway, acme.users.DATA_OWNER.token, datasetId, records(120))).body.imported).toBe(120);
    // Playwright starts the browser with a fresh temporary profile (user-data dir) of its own.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await worker?.close();
    await gateway?.close();
  });

  async function openConsole(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, acceptDownloads: true });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (error) => browserErrors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // The dry run is sent bad input on purpose, and the gateway answers bad input with HTTP 400,
      // which Chromium reports as a failed resource load; anything else is an error.
      if (message.type() === 'error' && !/status of 400 \(Bad Request\)/.test(message.text())) browserErrors.push(`console: ${message.text()}`);
    });
    await page.goto(`${gateway.url}/console/`);
    return page;
  }

  async function signIn(user: TestUser): Promise<Page> {
    const page = await openConsole();
    await page.getByLabel('API token').fill(user.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    return page;
  }

  const heading = (page: Page, name: string) => page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  const navLinks = async (page: Page) => page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
  const alertText = async (page: Page, containing?: string) => {
    const alerts = containing ? page.getByRole('alert').filter({ hasText: containing }) : page.getByRole('alert');
    await alerts.first().waitFor();
    return (await alerts.allTextContents()).join('\n');
  };
  const bodyRows = (page: Page, tableName?: string) => (tableName ? page.getByRole('table', { name: tableName }) : page.locator('table').first()).locator('tbody tr');
  // Browser-side checks are strings: the root tsconfig has no DOM types.
  /** Polls a locator's count: page-side wait functions would need eval, which the console's CSP refuses. */
  const waitForCount = async (locator: Locator, count: number, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while ((await locator.count()) !== count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} of ${locator.toString()}, found ${await locator.count()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const noHorizontalScroll = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth');

  it('refuses a bad token in words; signs in with the keyboard alone; the token never reaches the URL', async () => {
    const page = await openConsole();
    await page.getByLabel('API token').fill('sg_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const refusal = await alertText(page);
    expect(refusal).toContain('Sign-in failed');
    expect(refusal).toContain('UNAUTHENTICATED');

    await page.getByLabel('API token').fill('');
    await page.goto(`${gateway.url}/console/`);
    // The app renders after the load event on a busy machine: wait for the form before tabbing.
    await page.getByLabel('API token').waitFor();
    // Keyboard only: Tab from the top reaches the token field (after the skip link), Enter submits.
    let focused = '';
    for (let presses = 0; presses < 5 && focused !== 'token'; presses++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate<string>("document.activeElement?.id ?? ''");
    }
    expect(focused).toBe('token');
    await page.keyboard.type(acme.users.DATA_OWNER.token);
    expect(await page.getByLabel('API token').inputValue()).toBe(acme.users.DATA_OWNER.token);
    await page.keyboard.press('Enter');
    // Signed in, or refused in words: a refusal fails here with what the console said, not a timeout.
    const signedIn = page.getByRole('heading', { level: 1, name: 'Datasets', exact: true });
    await signedIn.or(page.getByRole('alert')).first().waitFor();
    if (!(await signedIn.isVisible())) throw new Error(`keyboard sign-in refused: ${(await page.getByRole('alert').allTextContents()).join(' / ')}`);
    expect(page.url()).toBe(`${gateway.url}/console/datasets`);
    expect(page.url()).not.toContain(acme.users.DATA_OWNER.token);
    expect(await page.evaluate<string[]>('Object.values(sessionStorage)')).toEqual([acme.users.DATA_OWNER.token]);
    // The new page's heading has the focus, for keyboard and screen-reader users.
    expect(await page.evaluate<string>('document.activeElement?.tagName')).toBe('H1');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
  });

  it('data owner: budget gauge and burn-down, a dry run (refused, bad input, admitted) before the request, live progress, publication', async () => {
    const page = await signIn(acme.users.DATA_OWNER);
    expect(await navLinks(page)).toEqual(['Datasets', 'Releases', 'Models']);
    // The model catalogue, with the memory a batch of the chosen size needs.
    await page.getByRole('link', { name: 'Models', exact: true }).click();
    await heading(page, 'Models');
    await waitForCount(bodyRows(page, 'Models'), 1);
    const model = (await bodyRows(page, 'Models').first().textContent()) ?? '';
    expect(model).toContain('tiny (default)');
    expect(model).toContain('LlamaForCausalLM');
    expect(model).toMatch(/fp32.*gguf tiny\.gguf.*512no/);
    await page.getByRole('link', { name: 'Datasets', exact: true }).click();
    await heading(page, 'Datasets');
    const row = page.getByRole('row', { name: new RegExp(datasetName) });
    expect(await row.textContent()).toContain('0 of 8 ε spent (0%)');

    await page.getByRole('link', { name: datasetName, exact: true }).click();
    await heading(page, `Dataset ${datasetName}`);
    await page.getByRole('img', { name: 'Budget gauge: 0 of 8 ε spent (0%)' }).waitFor();
    await page.getByRole('img', { name: new RegExp(`Remaining ε of ${datasetName}`) }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Ledger verified' }).textContent()).toContain('0 entries is intact');

    await page.getByRole('link', { name: 'Plan a new release' }).click();
    await heading(page, `New release of ${datasetName}`);
    const request = page.getByRole('button', { name: 'Request release' });
    expect(await request.isDisabled()).toBe(true);
    await page.getByLabel('Records per batch (s)').fill('10');
    await page.getByLabel('Logit clip (c)').fill('1');
    await page.getByLabel('Private temperature (τ)').fill('2');
    await page.getByLabel('Threshold (θ)').fill('0.5');
    await page.getByLabel('Noise scale (σ)').fill('2');
    await page.getByLabel('Tokens per example at most (T)').fill('12');

    // Over budget: the dry run says so, and the request stays disabled.
    await page.getByLabel('Private tokens per example (r)').fill('8');
    await page.getByLabel('Private temperature (τ)').fill('0.01');
    await page.getByRole('button', { name: 'Plan release (dry run)' }).click();
    await page.getByText('Refused:').waitFor();
    expect(await request.isDisabled()).toBe(true);

    // Bad input: the API's message, code and field, in words.
    await page.getByLabel('Records per batch (s)').fill('0');
    await page.getByRole('button', { name: 'Plan release (dry run)' }).click();
    const badInput = await alertText(page);
    expect(badInput).toContain('The dry run failed');
    expect(badInput).toContain('BAD_USER_INPUT');
    expect(badInput).toContain('expectedBatchSize');

    await page.getByLabel('Records per batch (s)').fill('10');
    await page.getByLabel('Private temperature (τ)').fill('2');
    await page.getByRole('button', { name: 'Plan release (dry run)' }).click();
    await page.getByText('Admitted:').waitFor();
    const plan = (await page.getByRole('region', { name: 'Dry run' }).textContent()) ?? '';
    expect(plan).toMatch(/Synthetic examples\s*12/);
    expect(plan).toMatch(/KV memory per batch\s*[\d.]+ (B|KiB|MiB) of 4\.0 GiB allowed/);
    expect(plan).toContain('ε 0 →');
    // Changing a field after the dry run asks for a new one before the request.
    await page.getByLabel('Tokens per example at most (T)').fill('13');
    expect(await request.isDisabled()).toBe(true);
    await page.getByLabel('Tokens per example at most (T)').fill('12');
    expect(await request.isDisabled()).toBe(false);

    // No worker yet: the release waits in the queue, and the page says so while it polls.
    await request.click();
    await heading(page, `Release of ${datasetName}`);
    releaseId = /\/console\/releases\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? `not a release page: ${page.url()}`;
    await page.getByText('0 of 12 batches done · updating every second').waitFor();
    expect(await page.locator('.badge').first().textContent()).toBe('queued');
    // A second release, cancelled before any worker read a record: debited, then refunded.
    const { createRelease: cancelled } = await gateway.data<{ createRelease: { id: string } }>(
      acme.users.DATA_OWNER.token,
      'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }',
      { input: { datasetId, expectedBatchSize: 10, clip: 1, temperature: 2, drafter: { threshold: 0.5, sigma: 2 }, privateTokenCap: 4, maxTokens: 12 } },
    );
    await gateway.data(acme.users.DATA_OWNER.token, 'mutation($id: ID!) { cancelRelease(id: $id) { id } }', { id: cancelled.id });
    worker = await startTestWorker(gateway);
    await page.getByText('12 of 12 batches done', { exact: true }).waitFor({ timeout: 60_000 });
    await page.locator('.badge', { hasText: 'succeeded' }).waitFor();
    const cost = (await page.getByRole('region', { name: 'Privacy cost charged' }).textContent()) ?? '';
    expect(cost).toContain('at δ 0.000001');
    const quality = page.getByRole('region', { name: 'Quality and replay report' });
    await quality.getByText('Replay check passed').waitFor();
    expect(await quality.textContent()).toMatch(/Synthetic records\s*12/);
    expect(await quality.textContent()).toMatch(/Sensitive records compared\s*120/);

    // Publish to Globex.
    const publication = page.getByRole('region', { name: 'Publication' });
    expect(await publication.textContent()).toContain('Not published');
    await publication.getByLabel(globex.name).check();
    await publication.getByRole('button', { name: 'Publish' }).click();
    await publication.getByRole('button', { name: `Revoke from ${globex.name}` }).waitFor();
    await waitForCount(bodyRows(page, 'Synthetic records'), 10);

    // Back on the dataset: one debit in the gauge, the burn-down and the verified chain.
    await page.getByRole('link', { name: `dataset ${datasetName}` }).click();
    await heading(page, `Dataset ${datasetName}`);
    await page.getByRole('img', { name: /^Budget gauge: [\d.]+ of 8 ε spent/ }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Ledger verified' }).textContent()).toContain('3 entries is intact');
    await waitForCount(page.locator('.chart-marker-debit'), 2);
    await waitForCount(page.locator('.chart-marker-refund'), 1);
    await waitForCount(bodyRows(page, `Releases of ${datasetName}`), 2);
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, 'data-owner-dataset.png'), fullPage: true });

    // Narrow window: the same page reflows instead of scrolling sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await noHorizontalScroll(page)).toBe(true);
  });

  it('consumer: sees only releases published to its organisation, with parameters and charged epsilon; pages, filters and exports records', async () => {
    const page = await signIn(globex.users.CONSUMER);
    expect(await navLinks(page)).toEqual(['Releases']);
    await heading(page, `Releases published to ${globex.name}`);
    await waitForCount(bodyRows(page), 1);
    await page.getByRole('link', { name: `Release ${releaseId} of ${datasetName}` }).click();
    await heading(page, `Release of ${datasetName}`);
    const charged = (await page.getByRole('region', { name: 'Privacy cost charged' }).textContent()) ?? '';
    const { release } = await gateway.data<{ release: { cost: { epsilon: number } } }>(globex.users.CONSUMER.token, 'query($id: ID!) { release(id: $id) { cost { epsilon } } }', { id: releaseId });
    expect(charged).toContain(`ε ${release.cost.epsilon.toFixed(3).replace(/\.?0+$/, '')}`);
    expect((await page.getByRole('region', { name: 'Parameters' }).textContent()) ?? '').toMatch(/Records per batch \(s\)\s*10/);
    // What a consumer may not see is not offered: no publication, no quality report, no ledger.
    expect(await page.getByRole('region', { name: 'Publication' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Quality and replay report' }).count()).toBe(0);

    const rows = bodyRows(page, 'Synthetic records');
    await waitForCount(rows, 10);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2').waitFor();
    await waitForCount(page.locator('table.records tbody tr'), 2);
    expect(await rows.first().locator('th').textContent()).toBe('10');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await waitForCount(page.locator('table.records tbody tr'), 10);
    await page.getByLabel('Label').selectOption('billing');
    await page.getByRole('table', { name: 'Synthetic records with label billing' }).waitFor();
    expect(await bodyRows(page, 'Synthetic records with label billing').count()).toBe(6);
    expect(new Set(await page.locator('table.records tbody td:first-of-type').allTextContents())).toEqual(new Set(['billing']));
    await page.screenshot({ path: join(SCREENSHOTS, 'consumer-release.png'), fullPage: true });

    // Exports go through fetch with the token and arrive as downloads.
    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSONL' }).click()]);
    expect(jsonl.suggestedFilename()).toBe(`release-${releaseId}.jsonl`);
    const lines = readFileSync((await jsonl.path())!, 'utf8').trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { ordinal: number }).ordinal)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    expect(readFileSync((await csv.path())!, 'utf8').split('\n')[0]).toBe('ordinal,label,text');
    const [parquet] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export Parquet' }).click()]);
    expect(parquet.suggestedFilename()).toBe(`release-${releaseId}.parquet`);
    const table = tableFromIPC(readParquet(new Uint8Array(readFileSync((await parquet.path())!))).intoIPCStream());
    expect([table.numRows, table.schema.fields.map((field) => field.name)]).toEqual([12, ['text', 'label']]);
    const [bundle] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download bundle' }).click()]);
    expect(bundle.suggestedFilename()).toBe(`release-${releaseId}.zip`);
    const card = strFromU8(unzipSync(new Uint8Array(readFileSync((await bundle.path())!)))[`release-${releaseId}/README.md`]!);
    expect(card).toContain('    num_examples: 12\n');

    // Pages for other roles answer with the API's refusal, in words.
    await page.goto(`${gateway.url}/console/ledger/${datasetId}`);
    expect(await alertText(page)).toMatch(/FORBIDDEN/);
    await page.goto(`${gateway.url}/console/audit`);
    expect(await alertText(page)).toContain('FORBIDDEN');
  });

  it('compliance: the ledger as a timeline and a table, its verification, release parameters without records, the audit log with filters', async () => {
    const page = await signIn(acme.users.COMPLIANCE);
    expect(await navLinks(page)).toEqual(['Ledgers', 'Releases', 'Audit log']);
    await heading(page, 'Budget ledgers');
    await page.getByRole('link', { name: datasetName, exact: true }).click();
    await heading(page, `Ledger of ${datasetName}`);
    expect(await page.getByRole('status').filter({ hasText: 'Ledger verified' }).textContent()).toContain('3 entries is intact');
    await page.getByRole('img', { name: new RegExp(`Spent ε of ${datasetName} over time`) }).waitFor();
    await waitForCount(page.locator('.chart-marker-debit'), 2);
    await waitForCount(page.locator('.chart-marker-refund'), 1);
    const entries = bodyRows(page, `Ledger entries of ${datasetName}, oldest first`);
    expect(await entries.count()).toBe(3);
    const entry = (await entries.first().textContent()) ?? '';
    expect(entry).toContain('debit');
    expect(entry).toContain(releaseId.slice(0, 8));
    expect(await entries.nth(2).locator('td').nth(1).textContent()).toBe('refund');
    await page.getByRole('button', { name: 'Verify again' }).click();
    await page.getByRole('status').filter({ hasText: 'Ledger verified' }).waitFor();
    await page.screenshot({ path: join(SCREENSHOTS, 'compliance-ledger.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await noHorizontalScroll(page)).toBe(true);
    await page.setViewportSize({ width: 1280, height: 800 });

    // The release's parameters and the quality report, but neither records nor publication.
    await entries.first().getByRole('link').click();
    await heading(page, `Release of ${datasetName}`);
    await page.getByRole('region', { name: 'Parameters' }).waitFor();
    await page.getByRole('region', { name: 'Quality and replay report' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Synthetic records' }).count()).toBe(0);
    expect(await page.getByRole('region', { name: 'Publication' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading(page, 'Audit log');
    await page.getByLabel('Action starts with').fill('release.');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await waitForCount(page.locator('table.audit tbody th').filter({ hasNotText: /^release\./ }), 0);
    const actions = await page.locator('table.audit tbody th').allTextContents();
    expect(actions).toEqual(expect.arrayContaining(['release.requested', 'release.published']));
    expect(actions.every((action) => action.startsWith('release.'))).toBe(true);
    await page.getByLabel('Action (exact)').fill('release.published');
    await page.getByLabel('Outcome').selectOption('SUCCESS');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await waitForCount(page.locator('table.audit tbody tr'), 1);
    expect(await page.locator('table.audit tbody tr').first().textContent()).toContain(globex.id);
    await page.getByLabel('Until (your local time)').fill('2000-01-01T00:00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No audit events match.').waitFor();
  });

  it('admin: the audit log only; revoking a release hides it from the consumer again', async () => {
    const admin = await signIn(acme.users.ADMIN);
    expect(await navLinks(admin)).toEqual(['Audit log']);
    await heading(admin, 'Audit log');
    await admin.locator('table.audit').waitFor();

    const owner = await signIn(acme.users.DATA_OWNER);
    await owner.goto(`${gateway.url}/console/releases/${releaseId}`);
    await owner.getByRole('button', { name: `Revoke from ${globex.name}` }).click();
    await owner.getByText('Not published').waitFor();

    const consumer = await signIn(globex.users.CONSUMER);
    await heading(consumer, `Releases published to ${globex.name}`);
    await consumer.getByText('Nothing has been published to your organisation yet.').waitFor();
    await consumer.goto(`${gateway.url}/console/releases/${releaseId}`);
    const gone = await alertText(consumer);
    expect(gone).toContain('Could not load the release');
    expect(gone).toContain('NOT_FOUND');
  });

  it('data owner: a release that replays a sensitive record is refused publication in words, and published with the audited override', async () => {
    // As in test/release-quality.e2e-spec.ts: greedy public decoding writes the same text each
    // time, so planting that text as a record makes the next release copy it.
    const owner = acme.users.DATA_OWNER;
    const replayDataset = (await createDataset(gateway, owner, { epsilon: 8, labels: ['billing'], name: `replayed-${Date.now().toString(36)}` })).id;
    await importRecords(gateway, owner.token, replayDataset, records(20, ['billing']));
    const baseline = { datasetId: replayDataset, expectedBatchSize: 10, mode: 'PUBLIC_ONLY', publicTemperature: 0, maxTokens: 24 };
    const release = async () => {
      const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input: baseline });
      expect(await waitForRelease(gateway, owner.token, createRelease.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
      return createRelease.id;
    };
    const first = await release();
    const { release: seen } = await gateway.data<{ release: { records: { nodes: { text: string }[] } } }>(owner.token, 'query($id: ID!) { release(id: $id) { records(first: 1) { nodes { text } } } }', { id: first });
    const planted = await importRecords(gateway, owner.token, replayDataset, `${JSON.stringify({ text: seen.records.nodes[0]!.text, label: 'billing' })}\n`, 'application/x-ndjson');
    expect(planted.body.imported).toBe(1);
    const replaying = await release();

    const page = await signIn(owner);
    await page.goto(`${gateway.url}/console/releases/${replaying}`);
    const quality = page.getByRole('region', { name: 'Quality and replay report' });
    await quality.getByText('Replay check failed').waitFor();
    expect(await quality.textContent()).toContain('100% of the synthetic records replay sensitive text');
    expect(await quality.getByRole('table', { name: 'Records that replay sensitive text' }).locator('tbody tr').count()).toBe(2);

    const publication = page.getByRole('region', { name: 'Publication' });
    await publication.getByLabel(globex.name).check();
    await publication.getByRole('button', { name: 'Publish' }).click();
    const refusal = await alertText(page, 'Publishing failed');
    expect(refusal).toContain('CONFLICT');
    expect(refusal).toContain('overrideReplayCheck');
    await publication.getByLabel('Publish although the replay check failed (written to the audit log)').check();
    await publication.getByRole('button', { name: 'Publish' }).click();
    await publication.getByRole('button', { name: `Revoke from ${globex.name}` }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'Publishing failed' }).count()).toBe(0);
  });

  it('data owner: a structured dataset shows its record schema, and its release one column per field', async () => {
    const owner = acme.users.DATA_OWNER;
    const created = await createStructuredDataset(gateway, owner, ticketSchema({ messageTokens: 16, score: false }), { name: `tickets-${Date.now().toString(36)}` });
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ message: `no signal ${i}`, product: i % 2 ? 'router' : 'modem', priority: (i % 5) + 1 }));
    expect((await importRecords(gateway, owner.token, created.id, lines.join('\n'), 'application/x-ndjson')).body.imported).toBe(20);
    const { createRelease } = await gateway.data<{ createRelease: { id: string } }>(owner.token, 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', {
      input: { datasetId: created.id, expectedBatchSize: 10, mode: 'PUBLIC_ONLY', maxTokens: 6 },
    });
    expect(await waitForRelease(gateway, owner.token, createRelease.id)).toEqual({ status: 'SUCCEEDED', failureReason: null });
    // Structured generation is issue 18's generation side: the values are stored here as its worker stores them.
    const client = new Client({ connectionString: gateway.databaseUrl });
    await client.connect();
    try {
      await client.query(`UPDATE synthetic_record SET "values" = jsonb_build_object('message', 'reboots at ' || ordinal, 'product', label, 'priority', ordinal + 1, 'urgent', CASE WHEN ordinal = 0 THEN 'true'::jsonb ELSE 'null'::jsonb END) WHERE release_id = $1`, [createRelease.id]);
    } finally {
      await client.end();
    }

    const page = await signIn(owner);
    await page.goto(`${gateway.url}/console/datasets/${created.id}`);
    const schema = page.getByRole('table', { name: 'Fields of the record schema' });
    await waitForCount(schema.locator('tbody tr'), 4);
    expect(await schema.locator('tbody tr').nth(2).textContent()).toBe('priorityintegerwhole number from 1 to 5no');
    await page.goto(`${gateway.url}/console/releases/${createRelease.id}`);
    const records = page.getByRole('table', { name: 'Synthetic records' });
    await waitForCount(records.locator('tbody tr'), 2);
    expect(await records.locator('thead th').allTextContents()).toEqual(['#', 'message', 'product', 'priority', 'urgent']);
    const first = await records.locator('tbody tr').first().locator('th, td').allTextContents();
    expect(first).toEqual(['0', 'reboots at 0', first[2], '1', 'true']);
    expect(['router', 'modem']).toContain(first[2]);
    expect(await records.locator('tbody tr').nth(1).locator('td').last().textContent()).toBe('none');
  });

  it('no page raised a script error or a content-security-policy violation', () => {
    expect(browserErrors).toEqual([]);
  });
});
