import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Labels become public schema, declared by the data owner (DESIGN.md section 4, "What is
 * released"): `dataset.labels` now holds the declared labels, an import with any other label is
 * refused (UNDECLARED_LABEL), and releases generate declared labels only.
 *
 * Before this version `dataset.labels` was the set of labels found in the imported records. Those
 * datasets keep working: their current labels become their declared labels, and
 * `labels_derived_from_data` says so (the README's privacy section explains what that means for
 * releases made before the upgrade). A label the owner declares later does not clear the flag.
 */
export class DeclaredLabels1764390000000 implements MigrationInterface {
  name = 'DeclaredLabels1764390000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE dataset ADD COLUMN labels_derived_from_data boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`UPDATE dataset SET labels_derived_from_data = true WHERE cardinality(labels) > 0`);
    await queryRunner.query(`COMMENT ON COLUMN dataset.labels IS 'Labels declared by the data owner (public schema); imports with any other label are refused'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`COMMENT ON COLUMN dataset.labels IS NULL`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN labels_derived_from_data`);
  }
}
