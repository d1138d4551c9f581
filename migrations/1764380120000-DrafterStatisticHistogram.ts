import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A second histogram in each worker's aggregate counters: the sparse-vector drafter's statistic
 * `d` at every tested step, summed over every batch the worker ran (never per release or batch),
 * so an operator can see whether the threshold separates public from private steps or noise decides.
 */
export class DrafterStatisticHistogram1764380120000 implements MigrationInterface {
  name = 'DrafterStatisticHistogram1764380120000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE worker_metrics
        ADD COLUMN drafter_bucket_bounds double precision[] NOT NULL DEFAULT '{}',
        ADD COLUMN drafter_bucket_counts bigint[] NOT NULL DEFAULT '{}',
        ADD COLUMN drafter_statistic_sum double precision NOT NULL DEFAULT 0,
        ADD CONSTRAINT worker_metrics_drafter_buckets CHECK (cardinality(drafter_bucket_counts) = cardinality(drafter_bucket_bounds) + 1 OR cardinality(drafter_bucket_counts) = 0)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE worker_metrics
        DROP CONSTRAINT worker_metrics_drafter_buckets,
        DROP COLUMN drafter_statistic_sum,
        DROP COLUMN drafter_bucket_counts,
        DROP COLUMN drafter_bucket_bounds`);
  }
}
