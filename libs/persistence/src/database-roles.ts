import { createHmac } from 'node:crypto';
import { type QueryRunner } from 'typeorm';

/**
 * The application does not connect as the role that owns the schema. Migrations run as the owner
 * (the role of DATABASE_URL, or the embedded server's superuser); the owner then provisions a
 * login role that is no superuser, owns no table (so it cannot ALTER TABLE ... DISABLE TRIGGER),
 * may not set `session_replication_role` (a superuser-only setting), and may only read and append
 * to the budget ledger, its anchor and the audit log. Gateway and workers connect as that role.
 */
export interface ApplicationRole {
  readonly name: string;
  readonly password: string;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `configured` (DATABASE_APP_ROLE) or `<database>_app`. The password is derived from the ledger
 * key (HMAC with its own label, so it reveals nothing of the key), so every process that holds
 * the key reaches the same role without a second secret to distribute.
 */
export function applicationRoleFor(ownerUrl: string, ledgerKey: Buffer, configured?: string): ApplicationRole {
  const database = decodeURIComponent(new URL(ownerUrl).pathname.replace(/^\//, '')) || 'postgres';
  const name = (configured ?? `${database}_app`.toLowerCase().replace(/[^a-z0-9_]/g, '_')).slice(0, 63);
  if (!ROLE_NAME.test(name)) throw new Error(`DATABASE_APP_ROLE: ${name} is not a plain lower-case role name`);
  const owner = decodeURIComponent(new URL(ownerUrl).username);
  if (owner === name) throw new Error(`DATABASE_APP_ROLE: the application role must differ from the owner role of DATABASE_URL (${owner})`);
  const password = createHmac('sha256', ledgerKey).update(`synthgate application role password:${name}`).digest('hex');
  return { name, password };
}

/** The owner's URL with the application role's credentials. */
export function applicationUrl(ownerUrl: string, role: ApplicationRole): string {
  const url = new URL(ownerUrl);
  url.username = encodeURIComponent(role.name);
  url.password = encodeURIComponent(role.password);
  return url.toString();
}

/** Tables the application may only read and append to; everything else it may read and write. */
const APPEND_ONLY = ['budget_ledger_entry', 'audit_event'];

/**
 * Creates (or resets) the application role and its grants, as the owner, after migrations: so a
 * table added by a later migration is granted too. Idempotent; the caller holds the migration lock.
 */
export async function provisionApplicationRole(runner: QueryRunner, role: ApplicationRole): Promise<void> {
  const name = `"${role.name}"`;
  // The password is hex (HMAC output): safe inside a literal.
  const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD '${role.password}'`;
  const exists = ((await runner.query(`SELECT 1 FROM pg_roles WHERE rolname = $1`, [role.name])) as unknown[]).length > 0;
  await runner.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${name} WITH ${attributes}`);
  const database = ((await runner.query(`SELECT current_database() AS name`)) as { name: string }[])[0]!.name;
  await runner.query(`GRANT CONNECT, TEMPORARY ON DATABASE "${database.replace(/"/g, '""')}" TO ${name}`);
  for (const schema of ['public', 'pgboss']) {
    await runner.query(`GRANT USAGE ON SCHEMA ${schema} TO ${name}`);
    await runner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${name}`);
    await runner.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${name}`);
    await runner.query(`REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA ${schema} FROM ${name}`);
  }
  for (const table of APPEND_ONLY) await runner.query(`REVOKE UPDATE, DELETE ON ${table} FROM ${name}`);
  await runner.query(`REVOKE DELETE ON budget_ledger_head FROM ${name}`);
  await runner.query(`REVOKE INSERT, UPDATE, DELETE ON migrations, ledger_key_check FROM ${name}`);
}
