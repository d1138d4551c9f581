/**
 * `npm run demo`: the whole product on a fresh clone, in one command. Starts a gateway and a worker
 * on an embedded PostgreSQL in a throw-away folder, then plays each role through the API:
 * an admin sets up a data owner's organisation and a consumer's; the data owner imports the
 * short, fictional customer messages in demo/support-tickets.csv (under a plain "Here is a short
 * message from a customer about {label}" header, the format the default model is trained on), plans and requests a release with the default
 * model and watches it; the consumer reads a few synthetic records; compliance reads the ledger.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '@synthgate/persistence';
import { GatewayClient } from './gateway-client';
import { watchRelease } from './release.command';

const root = join(__dirname, '..', '..', '..', '..');
const say = (text: string) => process.stdout.write(`${text}\n`);
const step = (text: string) => say(`\n== ${text}`);

async function startGateway(dataDir: string, port: number, logFile: string): Promise<ChildProcess> {
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(root, 'dist', 'apps', 'gateway', 'src', 'main.js'), '--with-worker'], {
    cwd: root,
    // The gateway child gets this environment with its own data folder and port.
    // eslint-disable-next-line no-restricted-properties
    env: { ...process.env, SYNTHGATE_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: '' },
    stdio: ['ignore', log, log],
  });
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (code ${child.exitCode}); see ${logFile}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGTERM');
  throw new Error(`the gateway did not start in 60 s; see ${logFile}`);
}

async function person(admin: GatewayClient, organizationId: string, email: string, role: string): Promise<GatewayClient> {
  const { createUser } = await admin.graphql<{ createUser: { id: string } }>(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { id } }',
    { input: { organizationId, email, role } },
  );
  const { createApiToken } = await admin.graphql<{ createApiToken: { secret: string } }>(
    'mutation($user: ID!) { createApiToken(input: { userId: $user, name: "demo", expiresInDays: 1, reason: "demo: a token for a demo user" }) { secret } }',
    { user: createUser.id },
  );
  return new GatewayClient(admin.url, createApiToken.secret);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'synthgate-demo-'));
  const port = await findFreePort();
  const logFile = join(work, 'gateway.log');
  step(`starting a gateway and a worker on an embedded PostgreSQL (logs: ${logFile})`);
  const gateway = await startGateway(join(work, 'data'), port, logFile);
  let succeeded = false;
  try {
    const admin = new GatewayClient(`http://127.0.0.1:${port}`, readFileSync(join(work, 'data', 'admin-token'), 'utf8').trim());
    say(`gateway at ${admin.url}/graphql`);

    step('admin: two organisations, and a data owner, a compliance reviewer and an ML engineer');
    const createOrganization = async (name: string) =>
      (await admin.graphql<{ createOrganization: { id: string } }>('mutation($name: String!) { createOrganization(input: { name: $name }) { id } }', { name })).createOrganization.id;
    const acme = await createOrganization('Acme Support (data owner)');
    const globex = await createOrganization('Globex ML (consumer)');
    const owner = await person(admin, acme, 'owner@acme.example', 'DATA_OWNER');
    const compliance = await person(admin, acme, 'compliance@acme.example', 'COMPLIANCE');
    const consumer = await person(admin, globex, 'engineer@globex.example', 'CONSUMER');
    say(`Acme Support ${acme}\nGlobex ML    ${globex}`);

    step('data owner: a labelled dataset declaring its four labels, with a budget of epsilon 4 at delta 1e-5, and its records');
    const { createDataset } = await owner.graphql<{ createDataset: { id: string } }>(
      'mutation { createDataset(input: { name: "support tickets", labelField: "label", labels: ["billing", "delivery", "password", "repair"], promptTemplate: "Here is a short message from a customer about {label}: {text}\\n\\nHere is another short message from a customer about {label}:", budget: { epsilon: 4, delta: 1e-5 } }) { id } }',
    );
    const imported = (await owner.upload(`/datasets/${createDataset.id}/records`, join(root, 'demo', 'support-tickets.csv'), 'text/csv')) as { imported: number; labels: string[] };
    say(`imported ${imported.imported} records (declared labels: ${imported.labels.join(', ')}) into dataset ${createDataset.id}`);

    const input = {
      datasetId: createDataset.id,
      expectedBatchSize: 40,
      clip: 4,
      temperature: 1.5,
      publicTemperature: 1,
      // Sample among the public row's 40 most likely tokens (free: public post-processing).
      topK: 40,
      drafter: { threshold: 0.5, sigma: 1 },
      targetEpsilon: 2,
      maxTokens: 32,
    };
    step('data owner: plan the release (a dry run that debits nothing)');
    const { planRelease } = await owner.graphql<{ planRelease: { cost: { privateTokenCap: number; rho: number; epsilon: number }; epsilonAfter: number; remainingEpsilon: number; batches: number; kvCacheBytesPerBatch: number } }>(
      'query($input: ReleaseInput!) { planRelease(input: $input) { cost { privateTokenCap rho epsilon } epsilonAfter remainingEpsilon batches kvCacheBytesPerBatch } }',
      { input },
    );
    say(
      `${planRelease.batches} synthetic examples; up to ${planRelease.cost.privateTokenCap} private tokens each; costs rho ${planRelease.cost.rho.toPrecision(3)} = epsilon ${planRelease.cost.epsilon.toFixed(2)}; ` +
        `dataset epsilon after: ${planRelease.epsilonAfter.toFixed(2)} of 4; KV cache per batch ${(planRelease.kvCacheBytesPerBatch / 2 ** 20).toFixed(1)} MiB`,
    );

    step('data owner: request it, and watch the worker generate it');
    const { createRelease } = await owner.graphql<{ createRelease: { id: string } }>('mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }', { input });
    const final = await watchRelease(owner, createRelease.id, 500, process.stdout);
    if (final.status !== 'SUCCEEDED') throw new Error(`the release ended ${final.status}: ${final.failureReason ?? ''}`);

    step('data owner: publish it to Globex ML');
    await owner.graphql('mutation($id: ID!, $orgs: [ID!]!) { publishRelease(id: $id, organizationIds: $orgs) { id } }', { id: createRelease.id, orgs: [globex] });

    step('consumer (Globex ML): the release and a few of its synthetic records');
    const { release } = await consumer.graphql<{ release: { datasetName: string; cost: { epsilon: number; delta: number }; model: { name: string }; records: { nodes: { label: string; text: string }[] } } }>(
      'query($id: ID!) { release(id: $id) { datasetName cost { epsilon delta } model { name } records(first: 8) { nodes { label text } } } }',
      { id: createRelease.id },
    );
    say(`"${release.datasetName}", epsilon ${release.cost.epsilon.toFixed(2)} at delta ${release.cost.delta}, model ${release.model.name}`);
    for (const record of release.records.nodes) say(`  [${record.label}] ${record.text.trim().replace(/\s+/g, ' ').slice(0, 160)}`);
    // Generation keeps every example valid UTF-8 (libs/generation decoding/utf8-token-mask.ts).
    if (release.records.nodes.some((record) => record.text.includes('\uFFFD'))) throw new Error('a synthetic record holds U+FFFD, a character cut in the middle: this is a bug');
    const peek = await fetch(`${consumer.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${consumer.token}` }, body: JSON.stringify({ query: `{ dataset(id: "${createDataset.id}") { records { nodes { text } } } }` }) });
    const refused = ((await peek.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;
    say(`the sensitive records themselves: ${refused ?? 'visible (this would be a bug)'}`);

    step('compliance (Acme): the budget ledger and its verification');
    const { dataset, verifyLedger } = await compliance.graphql<{
      dataset: { budget: { spentEpsilon: number; remainingEpsilon: number; ledger: { nodes: { sequence: number; kind: string; rho: number; epsilonAfter: number; hash: string }[] } } };
      verifyLedger: { ok: boolean; entries: number };
    }>(
      'query($id: ID!) { dataset(id: $id) { budget { spentEpsilon remainingEpsilon ledger { nodes { sequence kind rho epsilonAfter hash } } } } verifyLedger(datasetId: $id) { ok entries } }',
      { id: createDataset.id },
    );
    for (const entry of dataset.budget.ledger.nodes) {
      say(`  #${entry.sequence} ${entry.kind} rho ${entry.rho.toPrecision(4)}  epsilon after ${entry.epsilonAfter.toFixed(3)}  sha256 ${entry.hash.slice(0, 16)}…`);
    }
    say(`spent epsilon ${dataset.budget.spentEpsilon.toFixed(3)}, remaining ${dataset.budget.remainingEpsilon.toFixed(3)}; ledger ${verifyLedger.ok ? `verified (${verifyLedger.entries} entries)` : 'BROKEN'}`);
    succeeded = true;
  } finally {
    const exited = gateway.exitCode === null ? once(gateway, 'exit') : Promise.resolve();
    gateway.kill('SIGTERM');
    await exited;
    if (succeeded) rmSync(work, { recursive: true, force: true });
    else say(`\nthe demo failed; the gateway's log is in ${logFile}`);
  }
  step('done: the gateway and worker are stopped and their throw-away database removed');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
