import DataLoader from 'dataloader';
import { type Database, type DatasetEntity, type OrganizationEntity, type UserEntity } from '@synthgate/persistence';

/** Per-request batch loaders for relation fields, so a list does not run one query per row. */
export class Loaders {
  readonly organizations: DataLoader<string, OrganizationEntity | null>;
  readonly users: DataLoader<string, UserEntity | null>;
  /** Datasets by id, for names shown with releases; callers check access themselves. */
  readonly datasets: DataLoader<string, DatasetEntity | null>;

  constructor(database: Database) {
    this.organizations = new DataLoader(async (ids) => {
      const rows = await database.repositories.organizations.findByIds(ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.users = new DataLoader(async (ids) => {
      const rows = await database.repositories.users.findByIds(ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    });
    this.datasets = new DataLoader(async (ids) => {
      const rows = await database.repositories.datasets.findByIds(ids);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => byId.get(id) ?? null);
    });
  }
}

/** The GraphQL context of one request. */
export interface GraphQLContext {
  readonly req: import('@synthgate/access').AuthenticatedRequest;
  readonly loaders: Loaders;
}
