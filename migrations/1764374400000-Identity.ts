import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** Organisations, users with one role each, and hashed, scoped, expiring API tokens. */
export class Identity1764374400000 implements MigrationInterface {
  name = 'Identity1764374400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE organization (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE app_user (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        organization_id uuid NOT NULL REFERENCES organization(id),
        email text NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 320),
        display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
        role text NOT NULL CHECK (role IN ('ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE')),
        disabled_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX app_user_organization_id ON app_user (organization_id)`);
    await queryRunner.query(`
      CREATE TABLE api_token (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL REFERENCES app_user(id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        prefix text NOT NULL,
        secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
        scopes text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write']::text[] AND cardinality(scopes) > 0),
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        last_used_at timestamptz(3),
        created_by uuid REFERENCES app_user(id),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX api_token_user_id ON api_token (user_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE api_token`);
    await queryRunner.query(`DROP TABLE app_user`);
    await queryRunner.query(`DROP TABLE organization`);
  }
}
