import { type RecordSchema } from '@synthgate/records';
import { type EntityManager } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { isUniqueViolation, PersistenceError } from '../persistence.errors';
import { applyScope, type RowScope } from '../scope-sql';
import { DatasetEntity, type PromptChatTurn } from './dataset.entity';

export interface NewDataset {
  readonly organizationId: string;
  readonly name: string;
  readonly description: string;
  readonly textField: string;
  readonly labelField: string | null;
  /** Declared labels (public schema); empty for an unlabelled dataset. */
  readonly labels: readonly string[];
  /** The declared record schema; `textAndLabelSchema(labels, ...)` for a text-and-label dataset. */
  readonly recordSchema: RecordSchema;
  /** True for a dataset created with a schema of its own (see DatasetEntity.structured). */
  readonly structured: boolean;
  readonly promptTemplate: string;
  readonly promptChat: readonly PromptChatTurn[] | null;
  readonly budgetEpsilon: number;
  readonly budgetDelta: number;
  readonly benchmark: boolean;
  readonly replayThreshold: number;
  readonly createdBy: string;
}

export type DatasetChanges = Partial<
  Pick<DatasetEntity, 'name' | 'description' | 'promptTemplate' | 'promptChat' | 'budgetEpsilon' | 'budgetDelta' | 'replayThreshold' | 'labels' | 'recordSchema'>
>;

const datasetScopeColumns = { id: { column: 'd.id' }, organizationId: { column: 'd.organization_id' } };

/** Datasets: public metadata and budget. */
export class DatasetRepository {
  constructor(private readonly manager: EntityManager) {}

  async create(dataset: NewDataset): Promise<DatasetEntity> {
    try {
      return await this.manager.save(
        this.manager.create(DatasetEntity, { ...dataset, promptChat: dataset.promptChat ? [...dataset.promptChat] : null, labels: [...dataset.labels].sort(), labelsDerivedFromData: false, recordCount: 0, archivedAt: null }),
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new PersistenceError('CONFLICT', `name: a dataset named "${dataset.name}" exists already in this organisation`);
      }
      throw error;
    }
  }

  findById(id: string): Promise<DatasetEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager.findOne(DatasetEntity, { where: { id } });
  }

  /** A dataset's declared record schema and whether it is structured; null when there is no such dataset. */
  async schemaOf(id: string): Promise<{ recordSchema: RecordSchema; structured: boolean } | null> {
    if (!isUuid(id)) return null;
    const rows = (await this.manager.query(`SELECT record_schema AS "recordSchema", structured FROM dataset WHERE id = $1`, [id])) as {
      recordSchema: RecordSchema;
      structured: boolean;
    }[];
    return rows[0] ?? null;
  }

  findByIds(ids: readonly string[]): Promise<DatasetEntity[]> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return Promise.resolve([]);
    return this.manager.createQueryBuilder(DatasetEntity, 'd').where('d.id IN (:...ids)', { ids: valid }).getMany();
  }

  /**
   * Locks the dataset row until the transaction ends. Imports and budget debits take this lock,
   * so concurrent requests on one dataset are serialised and can never overspend.
   */
  lockForUpdate(id: string): Promise<DatasetEntity | null> {
    if (!isUuid(id)) return Promise.resolve(null);
    return this.manager
      .createQueryBuilder(DatasetEntity, 'd')
      .setLock('pessimistic_write')
      .where('d.id = :id', { id })
      .getOne();
  }

  list(scope: RowScope, filter: { includeArchived?: boolean }, page: PageRequest): Promise<Page<DatasetEntity>> {
    const query = this.manager.createQueryBuilder(DatasetEntity, 'd');
    applyScope(query, scope, datasetScopeColumns);
    if (!filter.includeArchived) query.andWhere('d.archived_at IS NULL');
    return keysetPage(query, { time: 'd.created_at', id: 'd.id' }, page, (d) => [d.createdAt.toISOString(), d.id]);
  }

  async update(id: string, changes: DatasetChanges): Promise<void> {
    try {
      await this.manager.update(DatasetEntity, { id }, changes);
    } catch (error) {
      if (isUniqueViolation(error)) throw new PersistenceError('CONFLICT', `name: a dataset named "${changes.name}" exists already in this organisation`);
      throw error;
    }
  }

  async archive(id: string, at: Date): Promise<void> {
    await this.manager.update(DatasetEntity, { id }, { archivedAt: at });
  }

  /** Adds imported records to the public record count. Labels are declared, never taken from records. */
  async addImported(id: string, count: number): Promise<void> {
    await this.manager.query(`UPDATE dataset SET record_count = record_count + $2, updated_at = now() WHERE id = $1`, [id, count]);
  }
}
