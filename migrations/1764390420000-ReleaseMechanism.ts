import { type MigrationInterface, type QueryRunner } from 'typeorm';

/** The mechanism fields `parameters` held before; `down` puts them back. */
const MECHANISM_FIELDS = ['batchSize', 'clip', 'temperature', 'publicTemperature', 'topK', 'drafter', 'privateTokenCap'] as const;

/**
 * A release's mechanism parameters move into their own column, `release.mechanism`, stored once in
 * libs/privacy's `MechanismParameters` shape (discriminated by `mechanism`; `s` is
 * `expectedBatchSize`), and leave `release.parameters`. Existing rows are converted from their mode:
 * PRIVATE -> private-prediction, PUBLIC_ONLY -> public-only, NON_PRIVATE_REFERENCE ->
 * non-private-reference. Ledger entries are hash-chained and append-only: they keep the parameters
 * they were written with.
 */
export class ReleaseMechanism1764390420000 implements MigrationInterface {
  name = 'ReleaseMechanism1764390420000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE release ADD COLUMN mechanism jsonb`);
    await queryRunner.query(`
      UPDATE release SET mechanism = CASE mode
        WHEN 'PUBLIC_ONLY' THEN jsonb_build_object(
          'mechanism', 'public-only', 'expectedBatchSize', parameters->'batchSize',
          'publicTemperature', parameters->'publicTemperature', 'privateTokenCap', 0)
        WHEN 'NON_PRIVATE_REFERENCE' THEN jsonb_build_object(
          'mechanism', 'non-private-reference', 'expectedBatchSize', parameters->'batchSize',
          'temperature', parameters->'temperature', 'publicTemperature', parameters->'publicTemperature',
          'topK', parameters->'topK', 'privateTokenCap', parameters->'privateTokenCap')
        ELSE jsonb_build_object(
          'mechanism', 'private-prediction', 'expectedBatchSize', parameters->'batchSize',
          'clip', parameters->'clip', 'temperature', parameters->'temperature',
          'publicTemperature', parameters->'publicTemperature', 'topK', parameters->'topK',
          'drafter', parameters->'drafter', 'privateTokenCap', parameters->'privateTokenCap')
      END`);
    await queryRunner.query(`UPDATE release SET parameters = parameters - $1::text[]`, [MECHANISM_FIELDS]);
    await queryRunner.query(`ALTER TABLE release ALTER COLUMN mechanism SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE release ADD CONSTRAINT release_mechanism_named CHECK (jsonb_typeof(mechanism) = 'object' AND jsonb_typeof(mechanism->'mechanism') = 'string')`);
  }

  /** Public-only rows get the request defaults back for the clip and temperature they never used (up dropped them). */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE release DROP CONSTRAINT release_mechanism_named`);
    await queryRunner.query(`
      UPDATE release SET parameters = parameters || jsonb_build_object(
        'batchSize', mechanism->'expectedBatchSize',
        'clip', COALESCE(mechanism->'clip', to_jsonb(10)),
        'temperature', COALESCE(mechanism->'temperature', to_jsonb(2)),
        'publicTemperature', mechanism->'publicTemperature',
        'topK', COALESCE(mechanism->'topK', to_jsonb(0)),
        'drafter', COALESCE(mechanism->'drafter', 'null'::jsonb),
        'privateTokenCap', mechanism->'privateTokenCap')`);
    await queryRunner.query(`ALTER TABLE release DROP COLUMN mechanism`);
  }
}
