import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Synthetic releases: the release with all its public parameters and the secrets of its mechanism
 * (partition key and random seed, never exposed), one row per batch (the unit of work), the
 * synthetic records, publications to organisations, and the append-only, hash-chained budget
 * ledger.
 */
export class Releases1764374520000 implements MigrationInterface {
  name = 'Releases1764374520000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE release (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        dataset_id uuid NOT NULL REFERENCES dataset(id),
        organization_id uuid NOT NULL REFERENCES organization(id),
        status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
        mode text NOT NULL CHECK (mode IN ('PRIVATE', 'PUBLIC_ONLY')),
        parameters jsonb NOT NULL,
        cost jsonb NOT NULL,
        rho double precision NOT NULL CHECK (rho >= 0),
        epsilon double precision NOT NULL CHECK (epsilon >= 0),
        delta double precision NOT NULL CHECK (delta > 0 AND delta < 1),
        conversion text NOT NULL CHECK (conversion IN ('tight', 'closed')),
        model_name text NOT NULL,
        model_fingerprint text NOT NULL,
        model_files jsonb NOT NULL,
        label_plan jsonb NOT NULL,
        record_count integer NOT NULL CHECK (record_count >= 0),
        max_record_id bigint NOT NULL,
        batch_count integer NOT NULL CHECK (batch_count >= 1),
        batches_done integer NOT NULL DEFAULT 0 CHECK (batches_done >= 0),
        tokens_generated bigint NOT NULL DEFAULT 0,
        partition_key bytea NOT NULL CHECK (length(partition_key) = 32),
        random_seed bytea NOT NULL CHECK (length(random_seed) = 32),
        failure_reason text,
        quality_report jsonb,
        created_by uuid REFERENCES app_user(id),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        started_at timestamptz(3),
        finished_at timestamptz(3),
        CHECK (batches_done <= batch_count)
      )`);
    await queryRunner.query(`CREATE INDEX release_dataset_id ON release (dataset_id, created_at)`);
    await queryRunner.query(`CREATE INDEX release_organization_id ON release (organization_id, created_at)`);
    await queryRunner.query(`
      CREATE TABLE release_batch (
        release_id uuid NOT NULL REFERENCES release(id),
        batch_index integer NOT NULL CHECK (batch_index >= 0),
        label text,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'RUNNING', 'DONE')),
        job_id uuid,
        worker_id text,
        attempts integer NOT NULL DEFAULT 0,
        heartbeat_at timestamptz(3),
        started_at timestamptz(3),
        finished_at timestamptz(3),
        tokens integer,
        PRIMARY KEY (release_id, batch_index)
      )`);
    await queryRunner.query(`CREATE INDEX release_batch_running ON release_batch (heartbeat_at) WHERE status = 'RUNNING'`);
    await queryRunner.query(`
      CREATE TABLE synthetic_record (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        release_id uuid NOT NULL REFERENCES release(id),
        ordinal integer NOT NULL,
        text text NOT NULL,
        label text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (release_id, ordinal)
      )`);
    await queryRunner.query(`CREATE INDEX synthetic_record_label ON synthetic_record (release_id, label, ordinal)`);
    await queryRunner.query(`
      CREATE TABLE release_publication (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        release_id uuid NOT NULL REFERENCES release(id),
        organization_id uuid NOT NULL REFERENCES organization(id),
        published_by uuid REFERENCES app_user(id),
        published_at timestamptz(3) NOT NULL DEFAULT now(),
        revoked_by uuid REFERENCES app_user(id),
        revoked_at timestamptz(3)
      )`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX release_publication_active ON release_publication (release_id, organization_id) WHERE revoked_at IS NULL`,
    );
    await queryRunner.query(`CREATE INDEX release_publication_organization ON release_publication (organization_id) WHERE revoked_at IS NULL`);
    await queryRunner.query(`
      CREATE TABLE budget_ledger_entry (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dataset_id uuid NOT NULL REFERENCES dataset(id),
        sequence integer NOT NULL CHECK (sequence >= 1),
        release_id uuid REFERENCES release(id),
        kind text NOT NULL CHECK (kind IN ('DEBIT', 'REFUND')),
        rho double precision NOT NULL,
        total_rho double precision NOT NULL CHECK (total_rho >= 0),
        epsilon_after double precision NOT NULL CHECK (epsilon_after >= 0),
        delta double precision NOT NULL,
        conversion text NOT NULL,
        parameters jsonb NOT NULL,
        actor_user_id uuid REFERENCES app_user(id),
        created_at timestamptz(3) NOT NULL,
        previous_hash text NOT NULL,
        hash text NOT NULL UNIQUE,
        UNIQUE (dataset_id, sequence),
        CHECK ((kind = 'DEBIT' AND rho >= 0) OR (kind = 'REFUND' AND rho <= 0))
      )`);
    // Spent budget is history: no role the application connects with may rewrite it.
    await queryRunner.query(`
      CREATE TRIGGER budget_ledger_entry_append_only BEFORE UPDATE OR DELETE ON budget_ledger_entry
      FOR EACH ROW EXECUTE FUNCTION synthgate_refuse_change()`);
    await queryRunner.query(`
      CREATE TRIGGER budget_ledger_entry_no_truncate BEFORE TRUNCATE ON budget_ledger_entry
      FOR EACH STATEMENT EXECUTE FUNCTION synthgate_refuse_change()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE budget_ledger_entry`);
    await queryRunner.query(`DROP TABLE release_publication`);
    await queryRunner.query(`DROP TABLE synthetic_record`);
    await queryRunner.query(`DROP TABLE release_batch`);
    await queryRunner.query(`DROP TABLE release`);
  }
}
