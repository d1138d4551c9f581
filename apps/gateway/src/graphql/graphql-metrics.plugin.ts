import { type ApolloServerPlugin } from '@apollo/server';
import { type GraphQLSchema, Kind, type OperationDefinitionNode } from 'graphql';
import { isClientCode } from '../errors/error-mapping';
import { type GraphQLContext } from './loaders';
import { type GatewayMetrics } from '../metrics/gateway-metrics';

/**
 * The label of an operation: its root field when it has exactly one (`createRelease`), else
 * `multiple`; `introspection` for schema queries. Never the client's operation name or query
 * text, which are free text and unbounded; a root field name is one of the schema's.
 */
export function operationLabel(operation: OperationDefinitionNode, schema: GraphQLSchema): string {
  const fields = new Set<string>();
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return 'multiple';
    if (selection.name.value !== '__typename') fields.add(selection.name.value);
  }
  if (fields.size === 0) return 'introspection';
  if (fields.size > 1) return 'multiple';
  const [field] = fields as unknown as [string];
  if (field === '__schema' || field === '__type') return 'introspection';
  return schema.getRootType(operation.operation)?.getFields()[field] ? field : 'unknown';
}

/** The outcome label: `ok`, or the first error's code when it is one of the known ones. */
function outcomeLabel(code: unknown): string {
  if (code === undefined) return 'ok';
  return typeof code === 'string' && isClientCode(code) ? code : 'OTHER';
}

/**
 * Counts and times every GraphQL request per operation, and hands the operation label to the
 * request log line (`req.graphqlOperation`): never variables, never query text.
 */
export function graphqlMetricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart: async () => {
      const started = process.hrtime.bigint();
      let operation = 'invalid';
      let type = 'unknown';
      return {
        didResolveOperation: async ({ operation: resolved, schema }) => {
          if (!resolved) return;
          operation = operationLabel(resolved, schema);
          type = resolved.operation;
        },
        willSendResponse: async ({ response, contextValue }) => {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          const outcome = errors?.length ? outcomeLabel(errors[0]!.extensions?.code ?? 'OTHER') : 'ok';
          metrics.observeGraphql(operation, type, outcome, Number(process.hrtime.bigint() - started) / 1e9);
          (contextValue.req as { graphqlOperation?: string }).graphqlOperation = operation;
        },
      };
    },
  };
}
