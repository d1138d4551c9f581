import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Datasets with their budget, sensitive records, and the append-only audit log. */
export class DatasetsAndAudit1764374460000 implements MigrationInterface {
  name = 'DatasetsAndAudit1764374460000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE dataset (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organization(id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        description text NOT NULL DEFAULT '',
        text_field text NOT NULL,
        label_field text,
        prompt_template text NOT NULL,
        budget_epsilon double precision NOT NULL CHECK (budget_epsilon > 0),
        budget_delta double precision NOT NULL CHECK (budget_delta > 0 AND budget_delta < 1),
        record_count integer NOT NULL DEFAULT 0 CHECK (record_count >= 0),
        labels text[] NOT NULL DEFAULT '{}',
        created_by uuid REFERENCES app_user(id),
        archived_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX dataset_organization_id ON dataset (organization_id)`);
    await queryRunner.query(
      `CREATE UNIQUE INDEX dataset_organization_name_active ON dataset (organization_id, name) WHERE archived_at IS NULL`,
    );
    await queryRunner.query(`
      CREATE TABLE sensitive_record (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dataset_id uuid NOT NULL REFERENCES dataset(id),
        import_id uuid NOT NULL,
        text text NOT NULL,
        label text,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX sensitive_record_dataset_id ON sensitive_record (dataset_id, id)`);
    await queryRunner.query(`
      CREATE TABLE audit_event (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        organization_id uuid,
        actor_user_id uuid,
        actor_token_id uuid,
        action text NOT NULL,
        subject_type text,
        subject_id text,
        outcome text NOT NULL CHECK (outcome IN ('SUCCESS', 'FAILURE', 'DENIED')),
        request_id text,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX audit_event_organization_time ON audit_event (organization_id, id)`);
    // The audit log is append-only: no role the application connects with may rewrite history.
    await queryRunner.query(`
      CREATE FUNCTION synthgate_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
      FOR EACH ROW EXECUTE FUNCTION synthgate_refuse_change()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
      FOR EACH STATEMENT EXECUTE FUNCTION synthgate_refuse_change()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_event`);
    await queryRunner.query(`DROP FUNCTION synthgate_refuse_change()`);
    await queryRunner.query(`DROP TABLE sensitive_record`);
    await queryRunner.query(`DROP TABLE dataset`);
  }
}
