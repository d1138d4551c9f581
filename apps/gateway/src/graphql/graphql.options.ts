import { type ApolloServerPlugin, type GraphQLRequestContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { type ApolloDriverConfig } from '@nestjs/apollo';
import { type SynthgateConfig } from '@synthgate/config';
import { type Database } from '@synthgate/persistence';
import { GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { type ComplexityEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { type AuditService } from '../audit/audit.service';
import { type GatewayMetrics } from '../metrics/gateway-metrics';
import { graphqlMetricsPlugin } from '../metrics/graphql-metrics.plugin';
import { formatGraphQLError, toClientError } from './error-mapping';
import { type GraphQLContext, Loaders } from './loaders';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

/**
 * A list field costs its page size times what each item costs. Sizes above the maximum are
 * counted as the maximum: the list itself refuses them, naming `first`.
 */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  if ('first' in args || 'after' in args) {
    const first = typeof args.first === 'number' && args.first > 0 ? Math.min(args.first, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
    return 1 + first * Math.max(1, childComplexity);
  }
  return undefined;
};

/** Refuses operations whose estimated cost exceeds GRAPHQL_MAX_COMPLEXITY, before running them. */
function complexityPlugin(maxComplexity: number, schema: () => GraphQLSchema | null): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ request, document }) => {
        const currentSchema = schema();
        if (!currentSchema) return;
        const complexity = getComplexity({
          schema: currentSchema,
          query: document,
          operationName: request.operationName,
          variables: request.variables,
          estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
        });
        if (complexity > maxComplexity) {
          throw new GraphQLError(`query: estimated complexity ${complexity} exceeds the limit of ${maxComplexity} (GRAPHQL_MAX_COMPLEXITY); ask for smaller pages or fewer fields`, {
            extensions: { code: 'BAD_USER_INPUT', field: 'query' },
          });
        }
      },
    }),
  };
}

/**
 * Successful mutations write their audit events inside their own transactions; a failed one
 * rolled back, so its outcome is written here, after the fact (DENIED for refusals).
 */
function auditFailuresPlugin(audit: AuditService): ApolloServerPlugin<GraphQLContext> {
  return {
    requestDidStart: async () => ({
      didEncounterErrors: async (context: GraphQLRequestContext<GraphQLContext>) => {
        const operation = context.operation as OperationDefinitionNode | undefined;
        if (operation?.operation !== 'mutation') return;
        const actor = context.contextValue.req.actor ?? null;
        for (const error of context.errors ?? []) {
          const field = error.path?.[0];
          if (typeof field !== 'string') continue;
          const { code } = toClientError(error.originalError ?? error);
          const denied = code === 'FORBIDDEN' || code === 'UNAUTHENTICATED' || code === 'NOT_FOUND';
          await audit.record(actor, {
            action: `mutation.${field}`,
            outcome: denied ? 'DENIED' : 'FAILURE',
            details: { code },
          });
        }
      },
    }),
  };
}

/** Apollo options: code-first schema, hardening, one error mapping, per-request loaders, metrics. */
export function graphqlOptions(config: SynthgateConfig, database: Database, audit: AuditService, metrics: GatewayMetrics): ApolloDriverConfig {
  let schema: GraphQLSchema | null = null;
  return {
    autoSchemaFile: true,
    sortSchema: true,
    path: '/graphql',
    introspection: config.graphql.introspection,
    playground: false,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: false,
    transformSchema: (built: GraphQLSchema) => {
      schema = built;
      return built;
    },
    context: ({ req }: { req: GraphQLContext['req'] }): GraphQLContext => ({ req, loaders: new Loaders(database) }),
    formatError: formatGraphQLError,
    validationRules: [depthLimit(config.graphql.maxDepth)],
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      complexityPlugin(config.graphql.maxComplexity, () => schema),
      auditFailuresPlugin(audit),
      graphqlMetricsPlugin(metrics),
    ],
  };
}
