import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * A dataset's prompt may also be a chat (issue 17): turns `{ role, content }` with `{text}` and
 * `{label}`, rendered through the chat template of a release's model when it has one. Public
 * metadata, like the plain template, which stays for models without a chat template.
 */
export class DatasetPromptChat1764390420000 implements MigrationInterface {
  name = 'DatasetPromptChat1764390420000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE dataset ADD COLUMN prompt_chat jsonb NULL`);
    await queryRunner.query(`ALTER TABLE dataset ADD CONSTRAINT dataset_prompt_chat_is_array CHECK (prompt_chat IS NULL OR jsonb_typeof(prompt_chat) = 'array')`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE dataset DROP CONSTRAINT dataset_prompt_chat_is_array`);
    await queryRunner.query(`ALTER TABLE dataset DROP COLUMN prompt_chat`);
  }
}
