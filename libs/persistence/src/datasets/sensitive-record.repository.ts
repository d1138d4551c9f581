import { type Writable } from 'node:stream';
import { type PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type EntityManager } from 'typeorm';
import { keysetPage, type Page, type PageRequest } from '../page';
import { SensitiveRecordEntity } from './sensitive-record.entity';

/** Escapes a value for COPY's text format: backslash, newline, carriage return and tab. */
export function copyTextField(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** One line of COPY text format for a record of a dataset. */
export function copyRecordLine(datasetId: string, importId: string, text: string, label: string | null): string {
  return `${datasetId}\t${importId}\t${copyTextField(text)}\t${copyTextField(label)}\n`;
}

/** Sensitive records. Their text leaves this repository only for the owning organisation's DATA_OWNERs and the worker. */
export class SensitiveRecordRepository {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Opens a COPY ... FROM STDIN stream on this transaction's connection; write lines made with
   * `copyRecordLine`. Must run inside a transaction, so a failed import leaves no row behind.
   */
  async openCopy(): Promise<Writable> {
    const runner = this.manager.queryRunner;
    if (!runner || !runner.isTransactionActive) throw new Error('openCopy needs an active transaction');
    const client = (await runner.connect()) as PoolClient;
    return client.query(copyFrom('COPY sensitive_record (dataset_id, import_id, text, label) FROM STDIN'));
  }

  list(datasetId: string, filter: { label?: string | null }, page: PageRequest): Promise<Page<SensitiveRecordEntity>> {
    const query = this.manager.createQueryBuilder(SensitiveRecordEntity, 'r').where('r.dataset_id = :datasetId', { datasetId });
    if (filter.label !== undefined && filter.label !== null) query.andWhere('r.label = :label', { label: filter.label });
    return keysetPage(query, { id: 'r.id' }, page, (r) => [r.id]);
  }

  async countByDataset(datasetId: string): Promise<number> {
    return this.manager.count(SensitiveRecordEntity, { where: { datasetId } });
  }
}
