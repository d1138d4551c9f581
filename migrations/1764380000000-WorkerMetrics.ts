import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Aggregate counters of each worker process, written by the worker every heartbeat and summed by
 * the gateway's GET /metrics, so one scrape target covers every worker on every machine. Rows
 * hold fleet-wide sums only: no release, dataset or organisation.
 */
export class WorkerMetrics1764380000000 implements MigrationInterface {
  name = 'WorkerMetrics1764380000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE worker_metrics (
        worker_id text PRIMARY KEY,
        started_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        batches bigint NOT NULL DEFAULT 0 CHECK (batches >= 0),
        private_tokens bigint NOT NULL DEFAULT 0 CHECK (private_tokens >= 0),
        public_tokens bigint NOT NULL DEFAULT 0 CHECK (public_tokens >= 0),
        generation_seconds double precision NOT NULL DEFAULT 0,
        step_bucket_bounds double precision[] NOT NULL DEFAULT '{}',
        step_bucket_counts bigint[] NOT NULL DEFAULT '{}',
        step_seconds_sum double precision NOT NULL DEFAULT 0,
        CHECK (cardinality(step_bucket_counts) = cardinality(step_bucket_bounds) + 1 OR cardinality(step_bucket_counts) = 0)
      )`);
    await queryRunner.query(`CREATE INDEX worker_metrics_updated_at ON worker_metrics (updated_at)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE worker_metrics`);
  }
}
