import { type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type StructuredRecord } from '@synthgate/records';
import { type EntityManager } from 'typeorm';
import { keysetPage, type Page, type PageRequest } from '../page';
import { CopyRecordImportSink, IMPORT_COPY_STATEMENT, type RecordImportSink, type RecordImportTarget } from './record-import-sink';
import { SensitiveRecordEntity } from './sensitive-record.entity';

/** One record as a batch reads it (SensitiveRecordRepository.texts). */
export interface BatchRecord {
  readonly id: string;
  readonly text: string;
  readonly label: string | null;
  /** A structured dataset's typed values, keyed by field name; null for a text-and-label record. */
  readonly values: StructuredRecord | null;
}

/** Sensitive records. Their text leaves this repository only for the owning organisation's DATA_OWNERs and the worker. */
export class SensitiveRecordRepository {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Opens an import of records into a dataset on this transaction's connection (PostgreSQL COPY).
   * Must run inside a transaction, so an aborted or failed import leaves no row behind.
   */
  async openImport(target: RecordImportTarget): Promise<RecordImportSink> {
    const runner = this.manager.queryRunner;
    if (!runner || !runner.isTransactionActive) throw new Error('openImport needs an active transaction');
    const client = (await runner.connect()) as PoolClient;
    return new CopyRecordImportSink(client.query(copyFrom(IMPORT_COPY_STATEMENT)), target);
  }

  list(datasetId: string, filter: { label?: string | null }, page: PageRequest): Promise<Page<SensitiveRecordEntity>> {
    const query = this.manager.createQueryBuilder(SensitiveRecordEntity, 'r').where('r.dataset_id = :datasetId', { datasetId });
    if (filter.label !== undefined && filter.label !== null) query.andWhere('r.label = :label', { label: filter.label });
    return keysetPage(query, { id: 'r.id' }, page, (r) => [r.id]);
  }

  /** The largest record id of a dataset ('0' when empty): a release uses records up to it. */
  async maxId(datasetId: string): Promise<string> {
    const rows = (await this.manager.query(`SELECT COALESCE(max(id), 0)::text AS max FROM sensitive_record WHERE dataset_id = $1`, [datasetId])) as { max: string }[];
    return rows[0]!.max;
  }

  /** Exact record counts of the given labels (only ever released through a DP count mechanism). */
  async countByLabel(datasetId: string, maxId: string, labels: readonly string[]): Promise<Map<string, number>> {
    const rows = (await this.manager.query(
      `SELECT label, count(*)::int AS count FROM sensitive_record WHERE dataset_id = $1 AND id <= $2 AND label = ANY($3) GROUP BY label`,
      [datasetId, maxId, labels],
    )) as { label: string; count: number }[];
    return new Map(labels.map((label) => [label, rows.find((row) => row.label === label)?.count ?? 0]));
  }

  /** Ids and labels of a release's records, for partitioning (the worker). */
  async idsAndLabels(datasetId: string, maxId: string): Promise<{ id: string; label: string | null }[]> {
    return (await this.manager.query(`SELECT id::text AS id, label FROM sensitive_record WHERE dataset_id = $1 AND id <= $2 ORDER BY id`, [datasetId, maxId])) as {
      id: string;
      label: string | null;
    }[];
  }

  /**
   * Texts of the given records, in id order (the worker, for one batch), with the typed values of
   * a structured dataset's records (null for a text-and-label record).
   */
  async texts(ids: readonly string[]): Promise<BatchRecord[]> {
    if (ids.length === 0) return [];
    return (await this.manager.query(`SELECT id::text AS id, text, label, "values" FROM sensitive_record WHERE id = ANY($1::bigint[]) ORDER BY id`, [ids])) as BatchRecord[];
  }

  /**
   * Every record text of a dataset up to `maxId`, in pages of `pageSize` by id (keyset), so a
   * caller can stream a large dataset in bounded memory (the worker's replay check).
   */
  async *textPages(datasetId: string, maxId: string, pageSize = 5000): AsyncGenerator<string[]> {
    let after = '0';
    for (;;) {
      const rows = (await this.manager.query(
        // ORDER BY the bigint column, not the text alias: '10' < '9' would make the keyset pages overlap.
        `SELECT id::text AS id, text FROM sensitive_record r WHERE dataset_id = $1 AND id <= $2 AND id > $3 ORDER BY r.id LIMIT $4`,
        [datasetId, maxId, after, pageSize],
      )) as { id: string; text: string }[];
      if (rows.length === 0) return;
      yield rows.map((row) => row.text);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /**
   * Ids, labels and texts of a dataset's records up to `maxId`, in pages of `pageSize` by id
   * (keyset): what private clustering reads (the gateway when it creates a CLUSTERED release, the
   * worker when it partitions one).
   */
  async *recordPages(datasetId: string, maxId: string, pageSize = 5000): AsyncGenerator<{ id: string; label: string | null; text: string }[]> {
    let after = '0';
    for (;;) {
      const rows = (await this.manager.query(
        // ORDER BY the bigint column, not the text alias: '10' < '9' would make the keyset pages overlap.
        `SELECT id::text AS id, label, text FROM sensitive_record r WHERE dataset_id = $1 AND id <= $2 AND id > $3 ORDER BY r.id LIMIT $4`,
        [datasetId, maxId, after, pageSize],
      )) as { id: string; label: string | null; text: string }[];
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  async countByDataset(datasetId: string): Promise<number> {
    return this.manager.count(SensitiveRecordEntity, { where: { datasetId } });
  }
}
