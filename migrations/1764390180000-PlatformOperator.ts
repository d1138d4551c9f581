import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * ADMIN splits in two: OPERATOR, the platform operator (the bootstrap admin), manages
 * organisations and their users but reads none of their data and issues a token for someone else
 * only as an audited act with a reason; ADMIN becomes an organisation's admin, confined to it.
 * The bootstrap admin (the user of the `bootstrap.admin` audit event) becomes the OPERATOR;
 * every other ADMIN keeps its role, now confined to its own organisation.
 */
export class PlatformOperator1764390180000 implements MigrationInterface {
  name = 'PlatformOperator1764390180000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE app_user DROP CONSTRAINT app_user_role_check`);
    await queryRunner.query(`ALTER TABLE app_user ADD CONSTRAINT app_user_role_check CHECK (role IN ('OPERATOR', 'ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'))`);
    await queryRunner.query(
      `UPDATE app_user SET role = 'OPERATOR' WHERE role = 'ADMIN' AND id::text IN (SELECT subject_id FROM audit_event WHERE action = 'bootstrap.admin' AND subject_type = 'User')`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`UPDATE app_user SET role = 'ADMIN' WHERE role = 'OPERATOR'`);
    await queryRunner.query(`ALTER TABLE app_user DROP CONSTRAINT app_user_role_check`);
    await queryRunner.query(`ALTER TABLE app_user ADD CONSTRAINT app_user_role_check CHECK (role IN ('ADMIN', 'DATA_OWNER', 'CONSUMER', 'COMPLIANCE'))`);
  }
}
