import { z } from 'zod';

const booleanString = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

const port = z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(65535, 'must be at most 65535');
const positiveInt = z.coerce.number().int('must be an integer').positive('must be positive');

/**
 * Every environment variable Synthgate reads, with its default. `.env.example` documents each key
 * and the README's configuration reference lists them; a spec checks the three agree.
 */
export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(3000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: positiveInt.default(10),
  DATABASE_APP_ROLE: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case role name (letters, digits, _)').optional(),
  LEDGER_KEY: z
    .string()
    .regex(/^([0-9a-fA-F]{64,}|[A-Za-z0-9+/]{43,}={0,2})$/, 'must be at least 32 bytes, as hex (64+ digits) or base64')
    .optional(),
  SYNTHGATE_DATA_DIR: z.string().min(1).default('.synthgate'),
  EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: booleanString.default('false'),
  GRAPHQL_INTROSPECTION: booleanString.optional(),
  GRAPHQL_MAX_DEPTH: positiveInt.default(12),
  GRAPHQL_MAX_COMPLEXITY: positiveInt.default(2000),
  GRAPHQL_MAX_TOKENS: positiveInt.max(1_000_000).default(10_000),
  HTTP_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/, 'must look like 512kb or 1mb').default('1mb'),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(1200),
  GATEWAY_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int('must be an integer').min(0).max(3600).default(30),
  IMPORT_MAX_BYTES: positiveInt.default(1024 * 1024 * 1024),
  IMPORT_MAX_RECORD_CHARS: positiveInt.default(20_000),
  IMPORT_MAX_CONCURRENT: positiveInt.max(1000).default(4),
  IMPORT_MAX_CONCURRENT_PER_ORGANIZATION: positiveInt.max(1000).default(2),
  IMPORT_STALL_TIMEOUT_SECONDS: positiveInt.max(3600).default(60),
  ALLOW_BENCHMARK_DATASETS: booleanString.default('false'),
  API_TOKEN_DEFAULT_TTL_DAYS: positiveInt.max(3650, 'must be at most 3650').default(90),
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MODELS_DIR: z.string().min(1).default('models'),
  DEFAULT_MODEL: z.string().regex(/^[a-zA-Z0-9._-]+$/, 'must be a model folder name').default('default'),
  GENERATION_THREADS: positiveInt.max(256).default(1),
  GENERATION_EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  KV_CACHE_LIMIT_BYTES: positiveInt.default(4 * 1024 * 1024 * 1024),
  GENERATION_MEMORY_LIMIT_BYTES: positiveInt.default(16 * 1024 * 1024 * 1024),
  WORKER_CONCURRENCY: positiveInt.max(64).default(1),
  WORKER_BATCH_TIMEOUT_SECONDS: positiveInt.max(86_400).default(3600),
  WORKER_HEARTBEAT_SECONDS: positiveInt.max(3600).default(5),
  WORKER_LEASE_SECONDS: positiveInt.max(86_400).default(30),
  WORKER_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int('must be an integer').min(0).max(3600).default(30),
  SYNTHGATE_URL: z.string().url('must be a URL such as http://127.0.0.1:3000').optional(),
  SYNTHGATE_TOKEN: z.string().min(1).optional(),
});

export type ConfigInput = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

/** Typed, validated configuration of one Synthgate process. */
export interface SynthgateConfig {
  readonly nodeEnv: Parsed['NODE_ENV'];
  readonly host: string;
  readonly port: number;
  readonly databaseUrl: string | undefined;
  readonly databasePoolSize: number;
  /** The role the application connects as (migrations run as DATABASE_URL's owner role); `<database>_app` when unset. */
  readonly databaseAppRole: string | undefined;
  /** The budget ledger's HMAC key; unset: `<dataDir>/ledger-key`, created on first start (mode 0600). */
  readonly ledgerKey: string | undefined;
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly logLevel: Parsed['LOG_LEVEL'];
  readonly logPretty: boolean;
  readonly graphql: {
    readonly introspection: boolean;
    readonly maxDepth: number;
    readonly maxComplexity: number;
    /** Tokens a document may have: graphql's own validation recurses through long fragment chains. */
    readonly maxTokens: number;
  };
  readonly httpBodyLimit: string;
  readonly rateLimitPerMinute: number;
  /** On SIGTERM, how long the gateway lets requests in flight (imports, exports) finish. */
  readonly shutdownGraceSeconds: number;
  readonly importLimits: {
    readonly maxBytes: number;
    readonly maxRecordChars: number;
    /** Imports running at once in one gateway process (each holds a pool connection while its upload lasts). */
    readonly maxConcurrent: number;
    readonly maxConcurrentPerOrganization: number;
    /** An import whose client sends nothing for this long is aborted (it holds a lock and a connection). */
    readonly stallTimeoutSeconds: number;
  };
  /** Whether data owners may create benchmark datasets (NON_PRIVATE_REFERENCE releases; no privacy guarantee). */
  readonly allowBenchmarkDatasets: boolean;
  readonly apiTokenDefaultTtlDays: number;
  readonly metricsToken: string | undefined;
  readonly models: { readonly dir: string; readonly defaultModel: string };
  readonly generation: {
    readonly threads: number;
    readonly executionProvider: Parsed['GENERATION_EXECUTION_PROVIDER'];
    readonly kvCacheLimitBytes: number;
    /** Memory a worker may use for a model's weights plus its concurrent batches' KV caches. */
    readonly memoryLimitBytes: number;
  };
  readonly worker: {
    readonly concurrency: number;
    /** Longest a batch may run before the queue gives up on it and retries it. */
    readonly batchTimeoutSeconds: number;
    /** How often a worker proves it is alive while generating a batch. */
    readonly heartbeatSeconds: number;
    /** A running batch whose worker has been silent this long is handed to another worker. */
    readonly leaseSeconds: number;
    /** On SIGTERM, how long a worker may finish its batch before handing it back. */
    readonly shutdownGraceSeconds: number;
  };
  /** For the command line: where the gateway is and which token to send. */
  readonly cli: { readonly url: string; readonly token: string | undefined };
}

export function toConfig(parsed: Parsed): SynthgateConfig {
  return {
    nodeEnv: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    databaseUrl: parsed.DATABASE_URL,
    databasePoolSize: parsed.DATABASE_POOL_SIZE,
    databaseAppRole: parsed.DATABASE_APP_ROLE,
    ledgerKey: parsed.LEDGER_KEY,
    dataDir: parsed.SYNTHGATE_DATA_DIR,
    embeddedPostgresPort: parsed.EMBEDDED_POSTGRES_PORT,
    logLevel: parsed.LOG_LEVEL,
    logPretty: parsed.LOG_PRETTY,
    graphql: {
      introspection: parsed.GRAPHQL_INTROSPECTION ?? parsed.NODE_ENV !== 'production',
      maxDepth: parsed.GRAPHQL_MAX_DEPTH,
      maxComplexity: parsed.GRAPHQL_MAX_COMPLEXITY,
      maxTokens: parsed.GRAPHQL_MAX_TOKENS,
    },
    httpBodyLimit: parsed.HTTP_BODY_LIMIT,
    rateLimitPerMinute: parsed.RATE_LIMIT_PER_MINUTE,
    shutdownGraceSeconds: parsed.GATEWAY_SHUTDOWN_GRACE_SECONDS,
    importLimits: {
      maxBytes: parsed.IMPORT_MAX_BYTES,
      maxRecordChars: parsed.IMPORT_MAX_RECORD_CHARS,
      maxConcurrent: parsed.IMPORT_MAX_CONCURRENT,
      maxConcurrentPerOrganization: parsed.IMPORT_MAX_CONCURRENT_PER_ORGANIZATION,
      stallTimeoutSeconds: parsed.IMPORT_STALL_TIMEOUT_SECONDS,
    },
    allowBenchmarkDatasets: parsed.ALLOW_BENCHMARK_DATASETS,
    apiTokenDefaultTtlDays: parsed.API_TOKEN_DEFAULT_TTL_DAYS,
    metricsToken: parsed.METRICS_TOKEN,
    models: { dir: parsed.MODELS_DIR, defaultModel: parsed.DEFAULT_MODEL },
    generation: {
      threads: parsed.GENERATION_THREADS,
      executionProvider: parsed.GENERATION_EXECUTION_PROVIDER,
      kvCacheLimitBytes: parsed.KV_CACHE_LIMIT_BYTES,
      memoryLimitBytes: parsed.GENERATION_MEMORY_LIMIT_BYTES,
    },
    worker: {
      concurrency: parsed.WORKER_CONCURRENCY,
      batchTimeoutSeconds: parsed.WORKER_BATCH_TIMEOUT_SECONDS,
      heartbeatSeconds: parsed.WORKER_HEARTBEAT_SECONDS,
      leaseSeconds: parsed.WORKER_LEASE_SECONDS,
      shutdownGraceSeconds: parsed.WORKER_SHUTDOWN_GRACE_SECONDS,
    },
    cli: { url: parsed.SYNTHGATE_URL ?? `http://127.0.0.1:${parsed.PORT}`, token: parsed.SYNTHGATE_TOKEN },
  };
}
