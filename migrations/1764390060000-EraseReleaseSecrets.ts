import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A release's partition key and random seed replay its partition and its noise: kept only while
 * batches can still run (QUEUED, RUNNING), so a retried batch replays the same randomness, and
 * erased when the release reaches a final state. A trigger erases them on the status change
 * whatever the application does, and a CHECK refuses a final release that still holds them.
 */
export class EraseReleaseSecrets1764390060000 implements MigrationInterface {
  name = 'EraseReleaseSecrets1764390060000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE release ALTER COLUMN partition_key DROP NOT NULL, ALTER COLUMN random_seed DROP NOT NULL`);
    await queryRunner.query(`
      CREATE FUNCTION synthgate_release_erase_secrets() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status NOT IN ('QUEUED', 'RUNNING') THEN
          NEW.partition_key := NULL;
          NEW.random_seed := NULL;
        END IF;
        RETURN NEW;
      END $$`);
    await queryRunner.query(`
      CREATE TRIGGER release_erase_secrets BEFORE INSERT OR UPDATE ON release
      FOR EACH ROW EXECUTE FUNCTION synthgate_release_erase_secrets()`);
    // Releases that ended before this version: the UPDATE fires the trigger.
    await queryRunner.query(`UPDATE release SET status = status WHERE status NOT IN ('QUEUED', 'RUNNING')`);
    await queryRunner.query(
      `ALTER TABLE release ADD CONSTRAINT release_secrets_only_while_live CHECK (status IN ('QUEUED', 'RUNNING') OR (partition_key IS NULL AND random_seed IS NULL))`,
    );
    await queryRunner.query(
      `ALTER TABLE release ADD CONSTRAINT release_secrets_while_live CHECK (status NOT IN ('QUEUED', 'RUNNING') OR (partition_key IS NOT NULL AND random_seed IS NOT NULL))`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_secrets_while_live`);
    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_secrets_only_while_live`);
    await queryRunner.query(`DROP TRIGGER release_erase_secrets ON release`);
    await queryRunner.query(`DROP FUNCTION synthgate_release_erase_secrets()`);
    // Erased secrets cannot come back: a final release gets zero bytes, which no batch ever reads.
    await queryRunner.query(`UPDATE release SET partition_key = decode(repeat('00', 32), 'hex'), random_seed = decode(repeat('00', 32), 'hex') WHERE random_seed IS NULL`);
    await queryRunner.query(`ALTER TABLE release ALTER COLUMN partition_key SET NOT NULL, ALTER COLUMN random_seed SET NOT NULL`);
  }
}
