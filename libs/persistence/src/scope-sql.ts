import { Brackets, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';

/**
 * The row filter of a list query, as libs/access derives it from the caller's ability
 * (`scopeFor`). Field names map to SQL columns; a column marked as an array matches when it
 * contains the value.
 */
export type RowScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'where'; readonly anyOf: readonly Readonly<Record<string, string>>[] };

export interface ScopeColumns {
  /** A column (an array column matches when it contains the value), or an EXISTS predicate given the parameter name. */
  readonly [field: string]: { readonly column: string; readonly array?: boolean } | { readonly exists: (parameter: string) => string };
}

export function applyScope<T extends ObjectLiteral>(query: SelectQueryBuilder<T>, scope: RowScope, columns: ScopeColumns): void {
  if (scope.kind === 'all') return;
  if (scope.kind === 'none') {
    query.andWhere('false');
    return;
  }
  let parameter = 0;
  query.andWhere(
    new Brackets((any) => {
      for (const condition of scope.anyOf) {
        any.orWhere(
          new Brackets((all) => {
            for (const [field, value] of Object.entries(condition)) {
              const target = columns[field];
              // A condition on a field this table does not have can never hold: refuse loudly.
              if (!target) throw new Error(`scope field ${field} has no column`);
              const name = `scope${parameter++}`;
              const predicate = 'exists' in target ? target.exists(name) : target.array ? `:${name} = ANY(${target.column})` : `${target.column} = :${name}`;
              all.andWhere(predicate, { [name]: value });
            }
          }),
        );
      }
    }),
  );
}
