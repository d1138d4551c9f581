import { type ApolloServerPlugin, type GraphQLRequestContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { type ApolloDriverConfig } from '@nestjs/apollo';
import { type SynthgateConfig } from '@synthgate/config';
import { type Database } from '@synthgate/persistence';
import { getVariableValues, GraphQLError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { type ComplexityEstimator, fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { type AuditService } from './audit/audit.service';
import { type GatewayMetrics } from './metrics/gateway-metrics';
import { formatGraphQLError, toClientError } from './errors/error-mapping';
import { GraphQLDateTime } from './graphql/date-time.scalar';
import { depthLimitRule } from './graphql/depth-limit.rule';
import { graphqlMetricsPlugin } from './graphql/graphql-metrics.plugin';
import { type GraphQLContext, Loaders } from './graphql/loaders';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './graphql/pagination';

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

function tooComplex(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field: 'query', http: { status: 400 } } });
}

/**
 * Refuses operations whose estimated cost exceeds GRAPHQL_MAX_COMPLEXITY, before running them.
 * Every alias of a field is counted; fields that do heavy work declare their own cost
 * (`complexity` in their decorator, e.g. verifyLedger), so 900 aliased verifications are refused.
 * The refusal is a 400: a bad request, not a server failure.
 */
function complexityPlugin(maxComplexity: number, schema: () => GraphQLSchema | null): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ request, document, operation }) => {
        const currentSchema = schema();
        if (!currentSchema) return;
        // Variables that do not coerce (wrong type, missing, Int overflow, unknown enum value) are
        // refused by execution itself with 400 BAD_USER_INPUT naming the variable; the estimate
        // needs coerced values, so it leaves them to that (getComplexity would throw a 500).
        const coerced = getVariableValues(currentSchema, operation?.variableDefinitions ?? [], request.variables ?? {}, { maxErrors: 1 });
        if (coerced.errors) return;
        let complexity: number;
        try {
          complexity = getComplexity({
            schema: currentSchema,
            query: document,
            operationName: request.operationName,
            variables: coerced.coerced,
            estimators: [fieldExtensionsEstimator(), pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
          });
        } catch (error) {
          // The estimator itself gives up on documents of more than 10,000 nodes (e.g. 5,000 aliases).
          if (error instanceof GraphQLError) throw tooComplex(`query: has too many fields to estimate (${error.message})`);
          throw error;
        }
        if (complexity > maxComplexity) {
          throw tooComplex(`query: estimated complexity ${complexity} exceeds the limit of ${maxComplexity} (GRAPHQL_MAX_COMPLEXITY); ask for smaller pages or fewer fields`);
        }
      },
    }),
  };
}

/**
 * A request whose every error is BAD_USER_INPUT (a crafted `after` cursor, an out-of-range
 * `first`, a bad mutation input) answers HTTP 400, as GraphQL's own parse, validation and variable
 * errors do; the body is unchanged (any data that was produced, and the errors). Other failures
 * (NOT_FOUND, FORBIDDEN, ...) keep GraphQL's 200 with their code in the body.
 */
function badRequestStatusPlugin(): ApolloServerPlugin {
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ response }) => {
        if (response.body.kind !== 'single') return;
        const { errors } = response.body.singleResult;
        if (errors?.length && errors.every((error) => error.extensions?.code === 'BAD_USER_INPUT')) response.http.status = 400;
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
    // Nest would reset every answer with a `data` key to 200, undoing badRequestStatusPlugin.
    preserveHttpStatusForExecutionErrors: false,
    transformSchema: (built: GraphQLSchema) => {
      schema = built;
      return built;
    },
    context: ({ req }: { req: GraphQLContext['req'] }): GraphQLContext => ({ req, loaders: new Loaders(database) }),
    formatError: formatGraphQLError,
    // Bounds the document before graphql's validation, whose rules recurse through fragment chains.
    parseOptions: { maxTokens: config.graphql.maxTokens },
    // A strict DateTime in place of @nestjs/graphql's, which turned "yesterday" into an Invalid Date.
    buildSchemaOptions: { scalarsMap: [{ type: Date, scalar: GraphQLDateTime }] },
    validationRules: [depthLimitRule(config.graphql.maxDepth)],
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      complexityPlugin(config.graphql.maxComplexity, () => schema),
      auditFailuresPlugin(audit),
      badRequestStatusPlugin(),
      graphqlMetricsPlugin(metrics),
    ],
  };
}
