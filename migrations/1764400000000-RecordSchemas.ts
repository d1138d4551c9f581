import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Declared record schemas (issue 18). A dataset stores its schema (`@synthgate/records`
 * RecordSchema, public metadata) in `record_schema`; `structured` tells a dataset created with a
 * schema of its own from a text-and-label one, whose records keep using `text` and `label` only.
 *
 * Every existing dataset gets the text-and-label schema of `textAndLabelSchema(labels, 2048)`:
 * fields `text` (text, at most 2048 tokens: the largest maxTokens a release accepts) and `label`
 * (category of its declared labels, optional when it declares none), conditioned on `label` when
 * it declares any. Its imports, releases and exports are unchanged.
 *
 * Records of a structured dataset carry their typed values in `values` (jsonb, keyed by field
 * name); `text` then holds the record as one JSON object in field order and `label` the value of
 * the schema's condition field (so partitioning by label works as before). Synthetic records of a
 * structured release carry `values` the same way. Both are null for text-and-label records.
 */
export class RecordSchemas1764400000000 implements MigrationInterface {
  name = 'RecordSchemas1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE dataset ADD COLUMN record_schema jsonb`);
    await queryRunner.query(`ALTER TABLE dataset ADD COLUMN structured boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`
      UPDATE dataset SET record_schema = jsonb_build_object(
        'fields', jsonb_build_array(
          jsonb_build_object('name', 'text', 'type', jsonb_build_object('kind', 'text', 'maxTokens', 2048), 'optional', false),
          jsonb_build_object('name', 'label', 'type', jsonb_build_object('kind', 'category', 'values', to_jsonb(labels)), 'optional', cardinality(labels) = 0)
        ),
        'conditionField', CASE WHEN cardinality(labels) > 0 THEN to_jsonb('label'::text) ELSE 'null'::jsonb END
      )`);
    await queryRunner.query(`ALTER TABLE dataset ALTER COLUMN record_schema SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE dataset ADD CONSTRAINT dataset_record_schema_object CHECK (jsonb_typeof(record_schema) = 'object' AND jsonb_typeof(record_schema -> 'fields') = 'array')`);
    await queryRunner.query(`COMMENT ON COLUMN dataset.record_schema IS 'The declared record schema (public metadata): fields, types, ranges, declared values'`);
    await queryRunner.query(`ALTER TABLE sensitive_record ADD COLUMN "values" jsonb`);
    await queryRunner.query(`ALTER TABLE synthetic_record ADD COLUMN "values" jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE synthetic_record DROP COLUMN "values"`);
    await queryRunner.query(`ALTER TABLE sensitive_record DROP COLUMN "values"`);
    await queryRunner.query(`ALTER TABLE dataset DROP CONSTRAINT dataset_record_schema_object`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN structured`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN record_schema`);
  }
}
