import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { applicationRoleFor, applicationUrl, canonicalJson, connectDatabase, createDataSource, loadLedgerKey, runMigrations } from '@synthgate/persistence';
import { withMigrationLedgerKey } from '../libs/persistence/src/migration-context';
import { LedgerKeyedChain1764390120000 } from '../migrations/1764390120000-LedgerKeyedChain';
import { createDataset, createOrganization, importRecords, type TestOrganization } from './setup/factories';
import { startTestGateway, type TestGateway } from './setup/gateway';
import { createTestModelsDir } from './setup/models';

const METRICS_TOKEN = 'ledger-tamper-metrics-token';
const csv = `text,label\n${Array.from({ length: 60 }, (_, i) => `record ${i},${i % 2 ? 'odd' : 'even'}`).join('\n')}\n`;
const verifyQuery = 'query($id: ID!) { verifyLedger(datasetId: $id) { ok entries firstBroken { sequence reason } } }';
const createQuery = 'mutation($input: ReleaseInput!) { createRelease(input: $input) { id } }';

interface Row {
  id: string;
  sequence: number;
  dataset_id: string;
  release_id: string | null;
  kind: string;
  rho: number;
  total_rho: number;
  epsilon_after: number;
  delta: number;
  conversion: string;
  parameters: unknown;
  actor_user_id: string | null;
  created_at: Date;
  previous_hash: string;
  hash: string;
}

/** The old, unkeyed hash: what an attacker without the ledger key can compute. */
function sha256(row: Row, previousHash: string): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        version: 2,
        datasetId: row.dataset_id,
        sequence: row.sequence,
        releaseId: row.release_id,
        kind: row.kind,
        rho: row.rho,
        totalRho: row.total_rho,
        epsilonAfter: row.epsilon_after,
        delta: row.delta,
        conversion: row.conversion,
        parameters: row.parameters,
        actorUserId: row.actor_user_id,
        createdAt: row.created_at.toISOString(),
        previousHash,
      }),
    )
    .digest('hex');
}

/**
 * The ledger against its own database superuser (issue 15, item 6): every attack is made as the
 * superuser, behind the application's back, and each must be caught by verifyLedger and refuse
 * the next admission with LEDGER_INVALID, raising the /metrics gauge. The application's own role
 * cannot even try.
 */
describe('ledger tamper resistance', () => {
  let gateway: TestGateway;
  let acme: TestOrganization;
  let superuser: Client;

  beforeAll(async () => {
    gateway = await startTestGateway({ MODELS_DIR: createTestModelsDir(), DEFAULT_MODEL: 'tiny', METRICS_TOKEN });
    acme = await createOrganization(gateway);
    superuser = new Client({ connectionString: gateway.databaseUrl });
    await superuser.connect();
  });
  afterAll(async () => {
    await superuser?.end();
    await gateway?.close();
  });

  const owner = () => acme.users.DATA_OWNER;
  const input = (datasetId: string) => ({ datasetId, expectedBatchSize: 10, clip: 1, temperature: 2, privateTokenCap: 2, maxTokens: 4 });

  /** A dataset with `releases` queued (debited) releases. */
  async function datasetWithReleases(releases: number): Promise<{ id: string; releases: string[] }> {
    const { id } = await createDataset(gateway, owner(), { epsilon: 50, delta: 1e-6, labels: ['even', 'odd'] });
    expect((await importRecords(gateway, owner().token, id, csv)).body.imported).toBe(60);
    const ids: string[] = [];
    for (let i = 0; i < releases; i++) ids.push((await gateway.data<{ createRelease: { id: string } }>(owner().token, createQuery, { input: input(id) })).createRelease.id);
    return { id, releases: ids };
  }

  async function verification(datasetId: string) {
    return (await gateway.data<{ verifyLedger: { ok: boolean; entries: number; firstBroken: { sequence: number; reason: string } | null } }>(acme.users.COMPLIANCE.token, verifyQuery, { id: datasetId }))
      .verifyLedger;
  }

  async function expectRefused(datasetId: string): Promise<void> {
    for (const query of [createQuery, 'query($input: ReleaseInput!) { planRelease(input: $input) { admitted } }']) {
      const result = await gateway.gql(owner().token, query, { input: input(datasetId) });
      expect(result.errors?.[0]?.extensions?.code).toBe('LEDGER_INVALID');
    }
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(Number(/^synthgate_ledgers_invalid (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
  }

  /** Runs `sql` as the superuser with triggers off (session_replication_role = replica). */
  async function asReplica(run: () => Promise<void>): Promise<void> {
    await superuser.query('SET session_replication_role = replica');
    try {
      await run();
    } finally {
      await superuser.query('SET session_replication_role = DEFAULT');
    }
  }

  it('connects the application as a role that is no superuser, cannot switch triggers off, and may only append to the ledger', async () => {
    const { id } = await datasetWithReleases(1);
    const role = applicationRoleFor(gateway.databaseUrl, loadLedgerKey({ ledgerKey: undefined, dataDir: gateway.dataDir }));
    const app = new Client({ connectionString: applicationUrl(gateway.databaseUrl, role) });
    await app.connect();
    try {
      const { rows } = await app.query<{ current_user: string; rolsuper: boolean }>('SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user');
      expect(rows[0]).toEqual({ current_user: role.name, rolsuper: false });
      // The pool the gateway serves with is that role too.
      expect((await gateway.database.repositories.ledger.all(id)).length).toBe(1);
      const { rows: activity } = await superuser.query<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = 'synthgate-test' AND datname = current_database()`);
      expect(activity.map((a) => a.usename)).toEqual([role.name]);
      await expect(app.query('SET session_replication_role = replica')).rejects.toThrow(/permission denied/);
      await expect(app.query('ALTER TABLE budget_ledger_entry DISABLE TRIGGER budget_ledger_entry_append_only')).rejects.toThrow(/must be (the )?owner/);
      await expect(app.query('DELETE FROM budget_ledger_entry WHERE dataset_id = $1', [id])).rejects.toThrow(/permission denied/);
      await expect(app.query('UPDATE budget_ledger_entry SET rho = 0 WHERE dataset_id = $1', [id])).rejects.toThrow(/permission denied/);
      await expect(app.query('TRUNCATE budget_ledger_entry')).rejects.toThrow(/permission denied/);
      await expect(app.query('DELETE FROM budget_ledger_head WHERE dataset_id = $1', [id])).rejects.toThrow(/permission denied/);
      await expect(app.query('DELETE FROM audit_event')).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
    }
    expect(await verification(id)).toEqual({ ok: true, entries: 1, firstBroken: null });
  });

  it('refuses a process started with another ledger key before it writes anything or touches the role', async () => {
    await expect(
      connectDatabase({ url: gateway.databaseUrl, ledgerKey: randomBytes(32), poolSize: 1, applicationName: 'synthgate-test-other-key', migrate: true }),
    ).rejects.toThrow(/keyed with another ledger key/);
    // The application role's password was not reset under the gateway: new connections still work.
    const { id } = await datasetWithReleases(1);
    expect(await verification(id)).toEqual({ ok: true, entries: 1, firstBroken: null });
  });

  it('catches the newest entry deleted (replica role bypassing the trigger), and admits nothing more', async () => {
    const { id } = await datasetWithReleases(3);
    expect(await verification(id)).toEqual({ ok: true, entries: 3, firstBroken: null });
    await asReplica(async () => {
      await superuser.query('DELETE FROM budget_ledger_entry WHERE dataset_id = $1 AND sequence = 3', [id]);
    });
    const result = await verification(id);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ sequence: 3, reason: expect.stringMatching(/ends at entry 2 but its anchor records 3 entries: entries were deleted/) });
    await expectRefused(id);
    // Nothing was debited by the refused requests.
    expect((await superuser.query('SELECT count(*)::int AS n FROM budget_ledger_entry WHERE dataset_id = $1', [id])).rows[0].n).toBe(2);
  });

  it('catches the newest entry deleted with its anchor rolled back to the earlier, validly signed head', async () => {
    const { id, releases } = await datasetWithReleases(2);
    const { rows: [earlier] } = await superuser.query('SELECT * FROM budget_ledger_head WHERE dataset_id = $1', [id]);
    await gateway.data(owner().token, createQuery, { input: input(id) });
    await asReplica(async () => {
      await superuser.query('DELETE FROM budget_ledger_entry WHERE dataset_id = $1 AND sequence = 3', [id]);
      await superuser.query('UPDATE budget_ledger_head SET sequence = $2, hash = $3, total_rho = $4, mac = $5 WHERE dataset_id = $1', [id, earlier.sequence, earlier.hash, earlier.total_rho, earlier.mac]);
    });
    const result = await verification(id);
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.reason).toMatch(/has no debit: its entry was removed/);
    expect(releases).toHaveLength(2);
    await expectRefused(id);
  });

  it('catches a rewritten middle entry with the chain and anchor recomputed without the key', async () => {
    const { id } = await datasetWithReleases(3);
    await asReplica(async () => {
      const { rows } = await superuser.query<Row>('SELECT * FROM budget_ledger_entry WHERE dataset_id = $1 ORDER BY sequence', [id]);
      let previousHash = '0'.repeat(64);
      let total = 0;
      for (const row of rows) {
        if (row.sequence === 2) row.rho = row.rho / 2;
        total += row.rho;
        row.total_rho = total;
        const hash = sha256(row, previousHash);
        await superuser.query('UPDATE budget_ledger_entry SET rho = $2, total_rho = $3, previous_hash = $4, hash = $5 WHERE id = $1', [row.id, row.rho, row.total_rho, previousHash, hash]);
        previousHash = hash;
      }
      await superuser.query('UPDATE budget_ledger_head SET hash = $2, total_rho = $3 WHERE dataset_id = $1', [id, previousHash, total]);
    });
    const result = await verification(id);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ sequence: 1, reason: expect.stringMatching(/does not match its keyed hash/) });
    await expectRefused(id);
  });

  it('refuses two forged REFUND entries for a release still QUEUED', async () => {
    const { id, releases } = await datasetWithReleases(2);
    const { rows } = await superuser.query<Row>('SELECT * FROM budget_ledger_entry WHERE dataset_id = $1 ORDER BY sequence', [id]);
    let previous = rows.at(-1)!;
    for (let i = 0; i < 2; i++) {
      const refund: Row = {
        ...previous,
        sequence: previous.sequence + 1,
        release_id: releases[0]!,
        kind: 'REFUND',
        rho: -rows[0]!.rho,
        total_rho: previous.total_rho - rows[0]!.rho,
        parameters: { releaseId: releases[0], reason: 'cancelled before any record was read', cost: (rows[0]!.parameters as { cost: unknown }).cost },
        created_at: new Date(),
      };
      refund.hash = sha256(refund, previous.hash);
      await superuser.query(
        `INSERT INTO budget_ledger_entry (dataset_id, sequence, release_id, kind, rho, total_rho, epsilon_after, delta, conversion, parameters, actor_user_id, created_at, previous_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [id, refund.sequence, refund.release_id, refund.kind, refund.rho, Math.max(0, refund.total_rho), refund.epsilon_after, refund.delta, refund.conversion, refund.parameters, null, refund.created_at, previous.hash, refund.hash],
      );
      previous = { ...refund, previous_hash: previous.hash };
    }
    await superuser.query('UPDATE budget_ledger_head SET sequence = $2, hash = $3 WHERE dataset_id = $1', [id, previous.sequence, previous.hash]);
    const result = await verification(id);
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.sequence).toBe(3);
    await expectRefused(id);
  });

  it('catches an entry rewritten under session_replication_role = replica, the trigger bypass', async () => {
    const { id } = await datasetWithReleases(2);
    await expect(superuser.query('UPDATE budget_ledger_entry SET rho = 0 WHERE dataset_id = $1', [id])).rejects.toThrow(/append-only/);
    await asReplica(async () => {
      await superuser.query('UPDATE budget_ledger_entry SET rho = 0, total_rho = 0 WHERE dataset_id = $1 AND sequence = 1', [id]);
    });
    const result = await verification(id);
    expect(result.firstBroken).toEqual({ sequence: 1, reason: expect.stringMatching(/does not match its keyed hash/) });
    await expectRefused(id);
  });

  it('re-keys an existing SHA-256 ledger at migration time, but leaves one already broken to fail', async () => {
    const intact = await datasetWithReleases(2);
    const broken = await datasetWithReleases(2);
    const ledgerKey = loadLedgerKey({ ledgerKey: undefined, dataDir: gateway.dataDir });
    const ownerSource = createDataSource({ url: gateway.databaseUrl, poolSize: 1 });
    await ownerSource.initialize();
    const runner = ownerSource.createQueryRunner();
    try {
      await withMigrationLedgerKey(ledgerKey, async () => {
        // Back to the schema before the migration: plain SHA-256 chains, no anchors.
        await new LedgerKeyedChain1764390120000().down(runner);
        const { rows } = await superuser.query<Row>('SELECT * FROM budget_ledger_entry WHERE dataset_id = $1 ORDER BY sequence', [intact.id]);
        let previousHash = '0'.repeat(64);
        for (const row of rows) {
          const v1 = createHash('sha256')
            .update(canonicalJson({ version: 1, datasetId: row.dataset_id, sequence: row.sequence, releaseId: row.release_id, kind: row.kind, rho: row.rho, totalRho: row.total_rho, epsilonAfter: row.epsilon_after, delta: row.delta, conversion: row.conversion, parameters: row.parameters, actorUserId: row.actor_user_id, createdAt: row.created_at.toISOString(), previousHash }))
            .digest('hex');
          expect(row.hash).toBe(v1);
          previousHash = v1;
        }
        // Someone rewrote the second dataset's ledger before the upgrade.
        await asReplica(async () => {
          await superuser.query('UPDATE budget_ledger_entry SET rho = rho / 2 WHERE dataset_id = $1 AND sequence = 1', [broken.id]);
        });
        await new LedgerKeyedChain1764390120000().up(runner);
      });
    } finally {
      await runner.release();
      await ownerSource.destroy();
    }
    // The recreated anchor table is granted to the application role again, as at every start.
    await runMigrations(gateway.databaseUrl, { ledgerKey, applicationRole: applicationRoleFor(gateway.databaseUrl, ledgerKey) });
    expect(await verification(intact.id)).toEqual({ ok: true, entries: 2, firstBroken: null });
    await gateway.data(owner().token, createQuery, { input: input(intact.id) });
    expect(await verification(intact.id)).toEqual({ ok: true, entries: 3, firstBroken: null });
    expect((await verification(broken.id)).firstBroken).toEqual({ sequence: 1, reason: expect.stringMatching(/does not match its keyed hash/) });
    await expectRefused(broken.id);
  });
});
