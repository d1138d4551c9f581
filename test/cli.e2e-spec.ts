import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../apps/cli/src/main';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

/** Runs the CLI in-process, capturing what it writes. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'synthgate', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('synthgate CLI against a running gateway', () => {
  let gateway: TestGateway;
  const files = mkdtempSync(join(tmpdir(), 'synthgate-cli-'));

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny' });
  });
  afterAll(() => gateway.close());

  it('lists every command in --help', async () => {
    const help = await cli('--help');
    for (const command of ['org', 'user', 'token', 'dataset', 'import', 'release', 'ledger', 'privacy', 'model']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });

  it('sets up an organisation, a data owner and a token, then creates a dataset and imports records', async () => {
    const admin = ['--url', gateway.url, '--token', gateway.adminToken];
    const org = await cli('org', 'create', 'CLI Corp', ...admin, '--json');
    expect(org.code).toBe(0);
    const orgId = (JSON.parse(org.stdout) as { id: string }).id;

    const user = await cli('user', 'create', '--org', orgId, '--email', 'owner@cli.test', '--role', 'DATA_OWNER', ...admin, '--json');
    const userId = (JSON.parse(user.stdout) as { id: string }).id;

    // The platform operator issues a token for another user only with a reason (audited in that organisation).
    const silent = await cli('token', 'create', '--user', userId, '--name', 'laptop', ...admin);
    expect(silent.code).not.toBe(0);
    expect(silent.stderr).toMatch(/input\.reason/);
    const token = await cli('token', 'create', '--user', userId, '--name', 'laptop', '--reason', 'first data owner of CLI Corp', ...admin);
    expect(token.code).toBe(0);
    const secret = token.stdout.trim();
    expect(secret).toMatch(/^sg_[A-Za-z0-9_-]{43}$/);
    expect(token.stderr).toMatch(/shown only now/);

    const owner = ['--url', gateway.url, '--token', secret];
    const dataset = await cli('dataset', 'create', '--name', 'tickets', '--label-field', 'label', '--labels', 'account,hardware', '--epsilon', '2', ...owner, '--json');
    expect(dataset.code).toBe(0);
    const datasetId = (JSON.parse(dataset.stdout) as { id: string }).id;
    const chat = await cli('dataset', 'create', '--name', 'chat tickets', '--label-field', 'label', '--labels', 'account', '--chat-system', 'You write tickets about {label}.', '--chat-user', 'Example: {text}\n\nAnother:', ...owner, '--json');
    expect(chat.code).toBe(0);
    const { dataset: chatDataset } = await gateway.data<{ dataset: { promptChat: unknown } }>(secret, 'query($id: ID!) { dataset(id: $id) { promptChat { role content } } }', { id: (JSON.parse(chat.stdout) as { id: string }).id });
    expect(chatDataset.promptChat).toEqual([{ role: 'system', content: 'You write tickets about {label}.' }, { role: 'user', content: 'Example: {text}\n\nAnother:' }]);

    const csv = join(files, 'records.csv');
    writeFileSync(csv, 'text,label\n"My printer is on fire",hardware\n"I forgot my password",account\n');
    const imported = await cli('import', datasetId, csv, ...owner);
    expect(imported).toMatchObject({ code: 0, stdout: 'imported 2 records; the dataset now has 2 (declared labels: account, hardware)\n' });

    const bad = join(files, 'bad.jsonl');
    writeFileSync(bad, '{"text": "fine", "label": "a"}\nnot json\n');
    const refused = await cli('import', datasetId, bad, ...owner);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[BAD_USER_INPUT]');
    expect(refused.stderr).toContain('line 2: is not valid JSON');

    const listed = await cli('dataset', 'list', ...owner);
    expect(listed.stdout).toMatch(/\s2 records {2}tickets/);

    const plan = await cli('release', 'plan', '--dataset', datasetId, '--expected-batch-size', '1', '--clip', '1', '--private-tokens', '4', '--max-tokens', '8', ...owner, '--json');
    expect(plan.code).toBe(0);
    const planned = JSON.parse(plan.stdout) as { batches: number; admitted: boolean; cost: { privateTokenCap: number } };
    expect(planned).toMatchObject({ batches: 2, cost: { privateTokenCap: 4 } });
    const badFlag = await cli('release', 'plan', '--dataset', datasetId, '--expected-batch-size', 'many', ...owner);
    expect(badFlag.code).toBe(1);
    expect(badFlag.stderr).toMatch(/--expected-batch-size/);
    const overBudget = await cli('release', 'create', '--dataset', datasetId, '--expected-batch-size', '1', '--clip', '1000', '--private-tokens', '8', '--max-tokens', '8', ...owner);
    expect(overBudget.code).toBe(1);
    expect(overBudget.stderr).toMatch(/\[(BUDGET_EXHAUSTED|BAD_USER_INPUT)\]/);
    const added = await cli('dataset', 'add-labels', datasetId, 'shipping, billing', ...owner);
    expect(added).toMatchObject({ code: 0, stdout: 'dataset tickets declares 4 labels: account, billing, hardware, shipping\n' });
    const undeclared = join(files, 'undeclared.csv');
    writeFileSync(undeclared, 'text,label\n"Where is my parcel?",shipping\n"A rare case",rare-condition-x\n');
    const refusedLabel = await cli('import', datasetId, undeclared, ...owner);
    expect(refusedLabel.code).toBe(1);
    expect(refusedLabel.stderr).toContain('[UNDECLARED_LABEL]');
    expect(refusedLabel.stderr).toContain('line 3: label "rare-condition-x" is not declared');
  });

  it('reports the gateway\'s error code, and an unreachable gateway, in words', async () => {
    const forbidden = await cli('org', 'create', 'nope', '--url', gateway.url, '--token', `sg_${'C'.repeat(43)}`);
    expect(forbidden).toMatchObject({ code: 1 });
    expect(forbidden.stderr).toContain('[UNAUTHENTICATED]');
    const down = await cli('org', 'list', '--url', 'http://127.0.0.1:9', '--token', gateway.adminToken);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the gateway at http:\/\/127.0.0.1:9/);
  });
});
