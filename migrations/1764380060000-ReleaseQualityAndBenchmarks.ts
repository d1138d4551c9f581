import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Release quality and utility benchmarks:
 * - `dataset.replay_threshold`: the owner's limit on a release's replay share (the share of
 *   synthetic records that copy an 8-word run or a whole sensitive record); publishing a release
 *   above it needs an explicit, audited override.
 * - `dataset.benchmark`: set once at creation, never changed; only such a dataset may have
 *   NON_PRIVATE_REFERENCE releases (the same decoding with no clipping and no noise, epsilon
 *   infinite), which utility benchmarks compare against. Triggers keep both rules in the database,
 *   whatever the application does.
 * - A non-private release records rho = epsilon = Infinity (the truth; the ledger's CHECKs cannot
 *   hold it, and it is not charged there: the release is the record).
 */
export class ReleaseQualityAndBenchmarks1764380060000 implements MigrationInterface {
  name = 'ReleaseQualityAndBenchmarks1764380060000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE dataset ADD COLUMN benchmark boolean NOT NULL DEFAULT false`);
    await queryRunner.query(
      `ALTER TABLE dataset ADD COLUMN replay_threshold double precision NOT NULL DEFAULT 0 CHECK (replay_threshold >= 0 AND replay_threshold <= 1)`,
    );
    await queryRunner.query(`
      CREATE FUNCTION synthgate_dataset_benchmark_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.benchmark IS DISTINCT FROM OLD.benchmark THEN
          RAISE EXCEPTION 'dataset.benchmark is set at creation and never changes' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER dataset_benchmark_fixed BEFORE UPDATE ON dataset
      FOR EACH ROW EXECUTE FUNCTION synthgate_dataset_benchmark_fixed()`);

    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_mode_check`);
    await queryRunner.query(`ALTER TABLE release ADD CONSTRAINT release_mode_check CHECK (mode IN ('PRIVATE', 'PUBLIC_ONLY', 'NON_PRIVATE_REFERENCE'))`);
    // Infinite cost if and only if non-private: no private release can hide as one, and no
    // non-private release can claim a finite epsilon.
    await queryRunner.query(
      `ALTER TABLE release ADD CONSTRAINT release_non_private_cost CHECK ((mode = 'NON_PRIVATE_REFERENCE') = (rho = 'Infinity'::float8 AND epsilon = 'Infinity'::float8))`,
    );
    await queryRunner.query(`
      CREATE FUNCTION synthgate_release_non_private_on_benchmark() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.mode = 'NON_PRIVATE_REFERENCE' AND NOT (SELECT benchmark FROM dataset WHERE id = NEW.dataset_id) THEN
          RAISE EXCEPTION 'a NON_PRIVATE_REFERENCE release needs a benchmark dataset' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER release_non_private_on_benchmark BEFORE INSERT OR UPDATE OF mode, dataset_id ON release
      FOR EACH ROW EXECUTE FUNCTION synthgate_release_non_private_on_benchmark()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER release_non_private_on_benchmark ON release`);
    await queryRunner.query(`DROP FUNCTION synthgate_release_non_private_on_benchmark()`);
    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_non_private_cost`);
    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_mode_check`);
    await queryRunner.query(`ALTER TABLE release ADD CONSTRAINT release_mode_check CHECK (mode IN ('PRIVATE', 'PUBLIC_ONLY'))`);
    await queryRunner.query(`DROP TRIGGER dataset_benchmark_fixed ON dataset`);
    await queryRunner.query(`DROP FUNCTION synthgate_dataset_benchmark_fixed()`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN replay_threshold`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN benchmark`);
  }
}
