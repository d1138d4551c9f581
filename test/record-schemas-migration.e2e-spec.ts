import { textAndLabelSchema, validateRecordSchema } from '@synthgate/records';
import { Client } from 'pg';
import { RecordSchemas1764400000000 } from '../migrations/1764400000000-RecordSchemas';
import { createTestDatabase } from './setup/test-database';

/** The migration gives every existing dataset the text-and-label schema of its declared labels. */
describe('migration RecordSchemas', () => {
  it('backfills textAndLabelSchema(labels, 2048) for labelled and unlabelled datasets, and reverts', async () => {
    const database = await createTestDatabase();
    const client = new Client({ connectionString: database.url });
    await client.connect();
    // The migration only runs SQL: a query runner that forwards to the client is all it uses.
    const runner = { query: (sql: string) => client.query(sql) } as unknown as Parameters<RecordSchemas1764400000000['up']>[0];
    const migration = new RecordSchemas1764400000000();
    try {
      await migration.down(runner);
      const organization = await client.query<{ id: string }>(`INSERT INTO organization (name) VALUES ('before schemas') RETURNING id`);
      const insert = `INSERT INTO dataset (organization_id, name, text_field, label_field, prompt_template, budget_epsilon, budget_delta, labels)
                      VALUES ($1, $2, 'text', $3, '{text} x', 1, 0.000001, $4) RETURNING id`;
      const labelled = await client.query<{ id: string }>(insert, [organization.rows[0]!.id, 'labelled', 'label', ['billing', 'hardware']]);
      const unlabelled = await client.query<{ id: string }>(insert, [organization.rows[0]!.id, 'unlabelled', null, []]);
      await migration.up(runner);
      const schemaOf = async (id: string) => (await client.query<{ record_schema: unknown; structured: boolean }>('SELECT record_schema, structured FROM dataset WHERE id = $1', [id])).rows[0]!;
      const withLabels = await schemaOf(labelled.rows[0]!.id);
      expect(withLabels).toEqual({ record_schema: textAndLabelSchema(['billing', 'hardware'], 2048), structured: false });
      expect(validateRecordSchema(withLabels.record_schema).problems).toEqual([]);
      expect((await schemaOf(unlabelled.rows[0]!.id)).record_schema).toEqual(textAndLabelSchema([], 2048));
      await expect(client.query(`UPDATE dataset SET record_schema = '[]' WHERE id = $1`, [labelled.rows[0]!.id])).rejects.toThrow(/dataset_record_schema_object/);
    } finally {
      await client.end();
      await database.drop();
    }
  });
});
