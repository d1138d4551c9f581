import { type Type } from '@nestjs/common';
import { ArgsType, Field, Int, ObjectType } from '@nestjs/graphql';
import { type Page, type PageRequest } from '@synthgate/persistence';
import { DomainError } from '../gateway.errors';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `first` and `after` of every list. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, 1 to ${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}).` })
  first?: number | null;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string | null;
}

/** Validates page arguments (a bad value is BAD_USER_INPUT naming `first`). */
export function pageRequest(args: { first?: number | null; after?: string | null }): PageRequest {
  const first = args.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw DomainError.badInput('first', `must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  return { first, after: args.after ?? null };
}

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  nodes: T[];
  pageInfo: PageInfo;
}

/** A Relay-style connection type for `node` (edges, nodes and pageInfo). */
export function Connection<T>(node: Type<T>, name: string): Type<ConnectionShape<T>> {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class ConnectionType {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => [node])
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

/** Maps a repository page to a connection, converting each item. */
export function toConnection<E, T>(page: Page<E>, map: (item: E) => T): ConnectionShape<T> {
  const nodes = page.items.map(map);
  return {
    nodes,
    edges: nodes.map((node, index) => ({ node, cursor: page.cursors[index]! })),
    pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor },
  };
}
