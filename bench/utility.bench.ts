/**
 * `npm run bench:utility -- --task <trec|agnews|dbpedia> --epsilon 1,3,10,inf [--seeds 3] [--model <name>] [--json]`
 * (or `--train <file.jsonl> --test <file.jsonl>`): the utility of synthetic releases, measured
 * through the product. Starts a gateway process on a fresh embedded PostgreSQL and worker
 * process(es) from dist/, imports the task's private part as a benchmark dataset, requests a
 * public-only baseline, one private release per epsilon and the non-private reference (inf),
 * exports each as a consumer, and scores classifiers trained on them on the held-out test part.
 * Writes docs/benchmarks/utility-<task>.md and .svg (unless --no-report). Run with --help for the
 * options. The held-out test sets are never used to choose parameters: tune with --train/--test
 * files cut from a private part.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release as osRelease, tmpdir, totalmem, type as osType } from 'node:os';
import { join, resolve } from 'node:path';
import { findFreePort } from '@synthgate/process';
import { type BenchmarkOptions, type GatewayAccess, runUtilityBenchmark } from './utility/pipeline';
import { markdownReport, accuracySvg } from './utility/report';
import { runStructuredBenchmark } from './utility/structured-run';
import { jsonlTask, loadTask, type Task, TASK_NAMES, type TaskName } from './utility/tasks';

const root = join(__dirname, '..', '..');

/** Defaults per task, chosen on the private parts only (see docs/benchmarks/README.md). */
const TASK_DEFAULTS: Record<TaskName | 'jsonl', { privateRecords: number | null; expectedBatchSize: number; maxTokens: number }> = {
  trec: { privateRecords: null, expectedBatchSize: 32, maxTokens: 24 },
  agnews: { privateRecords: 2560, expectedBatchSize: 32, maxTokens: 32 },
  dbpedia: { privateRecords: 2560, expectedBatchSize: 32, maxTokens: 32 },
  jsonl: { privateRecords: null, expectedBatchSize: 32, maxTokens: 32 },
};

const HELP = `npm run bench:utility -- (--task trec|agnews|dbpedia|mit-movies | --train <file.jsonl> --test <file.jsonl> [--name <name>]) [options]

  --epsilon <list>          releases to run, e.g. 1,3,10,inf (inf: the non-private reference); default 1,3,10,inf
  --no-public               skip the public-only baseline
  --model <name>            model folder in --models (default: default)
  --models <dir>            models folder (default: models)
  --json                    print one JSON object per release on stdout
  --private-records <n>     import a seeded, stratified sample of n private records (default per task; 0 = all)
  --expected-batch-size <s>          expected records per batch (default per task)
  --max-tokens <T>          tokens per synthetic example at most (default per task)
  --clip <c>                logit clip bound (default 2)
  --temperature <tau>       private temperature (default 1)
  --public-temperature <t>  public temperature (default 1)
  --top-k <k>               sample among the public row's top k tokens (default 40)
  --drafter <theta,sigma>   turn the sparse-vector drafter on, e.g. 0.5,1 (default: off, every token private;
                            see docs/benchmarks/README.md, "The drafter at s = 32"); --no-drafter: off
  --drafter-threshold <t>   the drafter's threshold theta alone (overrides --drafter's first value)
  --drafter-sigma <sigma>   the drafter's noise scale sigma alone (overrides --drafter's second value)
  --delta <delta>           the dataset's delta (default 1e-6)
  --count-sigma <sigma>     noise of the DP label count (default 30)
  --batching <mode>         random (default) or clustered: private k-means of each label's records before batching
  --clusters <k>            clusters per label with --batching clustered (default 4)
  --clustering-share <f>    share of each private release's target epsilon given to the clustering (default 0.2)
  --clustering-iterations <n>  Lloyd iterations of the clustering (default 3)
  --template <text>         the dataset's prompt template, {label} and {text}, \\n for a line break (default per task)
  --seed <n>                seeds the splits, subsample and classifiers (default 1)
  --seeds <n>               runs of each setting (default 3): fresh releases, classifier seeds seed .. seed+n-1;
                            the report gives mean and range and says which differences are within the spread
  --workers <n>             worker processes (default 1)
  --threads <n>             onnxruntime threads per worker (default: cores / workers)
  --data <dir>              evaluation sets (default ../shared/data/eval)
  --out <dir>               report folder (default docs/benchmarks); --no-report to write none
  --export-dir <dir>        also write each release's synthetic records there
`;

/** Every option that takes a value (from HELP), so a misspelt one is refused rather than ignored. */
const VALUE_OPTIONS = new Set(['--task', '--train', '--test', '--name', ...[...HELP.matchAll(/^ {2}(--[a-z-]+) </gm)].map((match) => match[1]!)]);

interface Args {
  readonly values: Map<string, string>;
  readonly flags: Set<string>;
}

function parseArgs(argv: readonly string[]): Args {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  const valueless = new Set(['--json', '--no-public', '--no-drafter', '--no-report', '--help']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (valueless.has(arg)) flags.add(arg);
    else if (VALUE_OPTIONS.has(arg) && i + 1 < argv.length) values.set(arg, argv[++i]!);
    else throw new Error(`unexpected argument ${arg}\n\n${HELP}`);
  }
  return { values, flags };
}

function numberArg(args: Args, name: string, fallback: number, rule: (v: number) => boolean = Number.isFinite): number {
  const raw = args.values.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!rule(value)) throw new Error(`${name}: ${raw} is not a valid value`);
  return value;
}

function batchingArg(args: Args): { clusters: number; iterations: number; clusteringShare: number } | null {
  const mode = args.values.get('--batching') ?? 'random';
  if (mode !== 'random' && mode !== 'clustered') throw new Error(`--batching: ${mode} is neither random nor clustered`);
  if (mode === 'random') {
    for (const name of ['--clusters', '--clustering-share', '--clustering-iterations']) if (args.values.has(name)) throw new Error(`${name} needs --batching clustered`);
    return null;
  }
  return {
    clusters: numberArg(args, '--clusters', 4, (v) => Number.isInteger(v) && v >= 1 && v <= 64),
    iterations: numberArg(args, '--clustering-iterations', 3, (v) => Number.isInteger(v) && v >= 1 && v <= 20),
    clusteringShare: numberArg(args, '--clustering-share', 0.2, (v) => v > 0 && v < 1),
  };
}

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 1200; attempt++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the gateway did not start in 120 s');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function spawnNode(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(root, 'dist', script)], { cwd: root, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * The structured task (issue 18): records with the query and its slots, generated under the
 * schema constraint in-process on the engine; small by default (the machine is shared).
 */
async function runMitMovies(args: Args, log: (message: string) => void, seed: number): Promise<void> {
  const drafter = (args.values.get('--drafter') ?? '0.5,1').split(',').map(Number);
  const epsilons = (args.values.get('--epsilon') ?? '1,3,10').split(',').filter((e) => e !== 'inf').map(Number);
  const modelsDir = resolve(args.values.get('--models') ?? join(root, 'models'));
  await runStructuredBenchmark({
    dataDir: resolve(args.values.get('--data') ?? join(root, '..', 'shared', 'data', 'eval')),
    modelDir: join(modelsDir, args.values.get('--model') ?? 'default'),
    outDir: args.flags.has('--no-report') ? null : resolve(args.values.get('--out') ?? join(root, 'docs', 'benchmarks')),
    epsilons,
    privateRecords: numberArg(args, '--private-records', 512, (v) => Number.isInteger(v) && v > 0),
    expectedBatchSize: numberArg(args, '--expected-batch-size', 16, (v) => Number.isInteger(v) && v > 0),
    clip: numberArg(args, '--clip', 2, (v) => v > 0),
    temperature: numberArg(args, '--temperature', 1, (v) => v > 0),
    delta: numberArg(args, '--delta', 1e-6, (v) => v > 0 && v < 1),
    drafter: { threshold: drafter[0]!, sigma: drafter[1]! },
    topK: numberArg(args, '--top-k', 40, (v) => Number.isInteger(v) && v >= 0),
    seed,
    threads: numberArg(args, '--threads', 1, (v) => Number.isInteger(v) && v > 0),
    log,
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.flags.has('--help')) {
    process.stdout.write(HELP);
    return;
  }
  const json = args.flags.has('--json');
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const seed = numberArg(args, '--seed', 1, Number.isInteger);
  const taskName = args.values.get('--task');
  if (taskName === 'mit-movies') {
    await runMitMovies(args, log, seed);
    return;
  }
  let task: Task;
  let defaults = TASK_DEFAULTS.jsonl;
  if (taskName) {
    if (!TASK_NAMES.includes(taskName as TaskName)) throw new Error(`--task must be one of ${TASK_NAMES.join(', ')}`);
    const dataDir = resolve(args.values.get('--data') ?? join(root, '..', 'shared', 'data', 'eval'));
    task = loadTask(taskName as TaskName, dataDir, seed);
    defaults = TASK_DEFAULTS[taskName as TaskName];
  } else if (args.values.has('--train') && args.values.has('--test')) {
    task = jsonlTask(resolve(args.values.get('--train')!), resolve(args.values.get('--test')!), args.values.get('--name'));
  } else {
    throw new Error(`give --task, or --train and --test\n\n${HELP}`);
  }
  const template = args.values.get('--template');
  if (template !== undefined) task = { ...task, promptTemplate: template.replace(/\\n/g, '\n') };
  const epsilonList = (args.values.get('--epsilon') ?? '1,3,10,inf').split(',').map((part) => part.trim());
  const epsilons = epsilonList.filter((part) => part !== 'inf').map((part) => {
    const value = Number(part);
    if (!(value > 0) || !Number.isFinite(value)) throw new Error(`--epsilon: ${part} is neither a positive number nor inf`);
    return value;
  });
  const drafterOn = args.values.has('--drafter') || args.values.has('--drafter-threshold') || args.values.has('--drafter-sigma');
  const drafterArg = (args.values.get('--drafter') ?? '0.5,1').split(',');
  if (drafterArg.length !== 2 || drafterArg.some((part) => part.trim() === '' || !Number.isFinite(Number(part)))) {
    throw new Error(`--drafter: ${args.values.get('--drafter')} is not "threshold,sigma" (two numbers)`);
  }
  const threshold = numberArg(args, '--drafter-threshold', Number(drafterArg[0]));
  const sigma = numberArg(args, '--drafter-sigma', Number(drafterArg[1]), (v) => Number.isFinite(v) && v > 0);
  if (!(sigma > 0)) throw new Error(`--drafter: the noise scale sigma must be > 0, got ${sigma}`);
  const runs = numberArg(args, '--seeds', 3, (v) => Number.isInteger(v) && v >= 1);
  const workers = numberArg(args, '--workers', 1, (v) => Number.isInteger(v) && v >= 1);
  const threads = numberArg(args, '--threads', Math.max(1, Math.floor(cpus().length / workers)), (v) => Number.isInteger(v) && v >= 1);
  const privateRecordsArg = numberArg(args, '--private-records', defaults.privateRecords ?? 0, (v) => Number.isInteger(v) && v >= 0);
  const modelsDir = resolve(args.values.get('--models') ?? join(root, 'models'));
  const model = args.values.get('--model') ?? 'default';
  const options: BenchmarkOptions = {
    task,
    epsilons,
    reference: epsilonList.includes('inf'),
    publicOnly: !args.flags.has('--no-public'),
    privateRecords: privateRecordsArg === 0 ? null : privateRecordsArg,
    seed,
    runs,
    classifier: { model: { seed } },
    exportDir: args.values.get('--export-dir') ?? null,
    log,
    release: {
      model,
      expectedBatchSize: numberArg(args, '--expected-batch-size', defaults.expectedBatchSize, (v) => Number.isInteger(v) && v >= 1),
      maxTokens: numberArg(args, '--max-tokens', defaults.maxTokens, (v) => Number.isInteger(v) && v >= 1),
      clip: numberArg(args, '--clip', 2, (v) => v > 0),
      temperature: numberArg(args, '--temperature', 1, (v) => v > 0),
      publicTemperature: numberArg(args, '--public-temperature', 1, (v) => v >= 0),
      topK: numberArg(args, '--top-k', 40, (v) => Number.isInteger(v) && v >= 0),
      drafter: args.flags.has('--no-drafter') || !drafterOn ? null : { threshold, sigma },
      delta: numberArg(args, '--delta', 1e-6, (v) => v > 0 && v < 1),
      countSigma: numberArg(args, '--count-sigma', 30, (v) => v > 0),
      batching: batchingArg(args),
    },
  };
  if (options.exportDir) mkdirSync(options.exportDir, { recursive: true });

  const work = mkdtempSync(join(tmpdir(), 'synthgate-bench-utility-'));
  const dataDir = join(work, 'data');
  const port = await findFreePort();
  const metricsToken = randomBytes(24).toString('hex');
  const started = Date.now();
  const loadBefore = loadavg();
  const gateway = spawnNode('apps/gateway/src/main.js', {
    SYNTHGATE_DATA_DIR: dataDir,
    PORT: String(port),
    DATABASE_URL: '',
    METRICS_TOKEN: metricsToken,
    ALLOW_BENCHMARK_DATASETS: 'true',
    MODELS_DIR: modelsDir,
    DEFAULT_MODEL: model,
    RATE_LIMIT_PER_MINUTE: '100000',
  });
  const workerProcesses: ChildProcess[] = [];
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitForHealth(url, gateway);
    const databaseUrl = (JSON.parse(readFileSync(join(dataDir, 'postgres.json'), 'utf8')) as { url: string }).url;
    for (let i = 0; i < workers; i++) {
      workerProcesses.push(
        spawnNode('apps/worker/src/main.js', { DATABASE_URL: databaseUrl, SYNTHGATE_DATA_DIR: dataDir, MODELS_DIR: modelsDir, DEFAULT_MODEL: model, GENERATION_THREADS: String(threads), WORKER_HEARTBEAT_SECONDS: '1' }),
      );
    }
    const access: GatewayAccess = { url, adminToken: readFileSync(join(dataDir, 'admin-token'), 'utf8').trim(), metricsToken };
    const result = await runUtilityBenchmark(access, options);
    const wallSeconds = (Date.now() - started) / 1000;
    if (json) for (const row of result.rows) process.stdout.write(`${JSON.stringify(row)}\n`);
    else console.table(result.rows.map(({ drafterStatistic, ...row }) => ({ ...row, drafterStatisticMedian: drafterStatistic?.p50 ?? null })));

    if (!args.flags.has('--no-report')) {
      const outDir = resolve(args.values.get('--out') ?? join(root, 'docs', 'benchmarks'));
      mkdirSync(outDir, { recursive: true });
      const svgFile = `utility-${task.name}.svg`;
      writeFileSync(
        join(outDir, svgFile),
        accuracySvg(`${task.name}: test accuracy of a classifier trained on synthetic data`, result.summaries, {
          realDataAccuracy: result.rows[0]?.realDataAccuracy ?? 0,
          bestConstantAccuracy: result.bestConstantAccuracy,
          chanceBalancedAccuracy: result.chanceBalancedAccuracy,
        }),
      );
      const manifest = join(modelsDir, model, 'manifest.json');
      const loadAfter = loadavg();
      const markdown = markdownReport(result, {
        taskName: task.name,
        taskDescription: task.description,
        command: `npm run bench:utility -- ${process.argv.slice(2).join(' ')}`,
        svgFile,
        wallSeconds,
        parameters: {
          'prompt template': JSON.stringify(task.promptTemplate),
          'expected batch size s': options.release.expectedBatchSize,
          'max tokens T': options.release.maxTokens,
          'clip c': options.release.clip,
          'private temperature tau': options.release.temperature,
          'public temperature': options.release.publicTemperature,
          'public top-k': options.release.topK,
          drafter: options.release.drafter ? `threshold ${options.release.drafter.threshold}, sigma ${options.release.drafter.sigma}` : 'none',
          'dataset delta': options.release.delta,
          batching: options.release.batching
            ? `CLUSTERED: ${options.release.batching.clusters} clusters per label, ${options.release.batching.iterations} Lloyd iterations, clustering epsilon = ${options.release.batching.clusteringShare} x the target epsilon (private releases; charged inside it); the non-private reference clusters exactly`
            : 'RANDOM (keyed hash within each label)',
          'label allocation': `private releases: DP label count, sigma ${options.release.countSigma} (charged inside the target epsilon); public only and inf: the private part's label proportions, declared`,
          'private records': options.privateRecords === null ? `all ${task.privatePart.length}` : `${result.importedRecords} of ${task.privatePart.length} (seeded, stratified sample)`,
          'post-processing': 'each synthetic text is cut to its first non-empty line (the prompt asks for one record)',
          classifier: 'hashed word 1-2-grams (2^18 buckets), sublinear TF-IDF, L2-normalised; multinomial logistic regression, AdaGrad SGD, 15 epochs, step 0.5, L2 1e-5',
          seeds: `${seed} (split, subsample); runs: ${runs} per setting, classifier seeds ${seed}..${seed + runs - 1} (classifier order, distinguishing folds); release randomness: CSPRNG (not seeded, as in production), fresh each run`,
          'model files': existsSync(manifest) ? `${modelsDir.replace(`${root}/`, '')}/${model} (manifest.json)` : model,
          'workers / threads': `${workers} worker process(es), ${threads} onnxruntime thread(s) each`,
        },
        machine: [
          `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB memory, ${osType()} ${osRelease()}, Node ${process.version}`,
          `load average ${loadBefore.map((l) => l.toFixed(1)).join(' / ')} at the start, ${loadAfter.map((l) => l.toFixed(1)).join(' / ')} at the end (1/5/15 min): the machine is shared, so rates are indicative`,
        ],
        notes: [
          'Never tuned on the held-out test part: the template and parameters were chosen on splits of the private parts (see docs/benchmarks/README.md).',
          'The non-private reference (epsilon = inf) has no privacy guarantee: it runs only on a benchmark dataset (ALLOW_BENCHMARK_DATASETS), is not charged to the ledger, and is published only to the owner\'s own organisation.',
          'The benchmark dataset\'s replay threshold is 1 (every release is published for export); replay is reported in the table instead.',
        ],
      });
      writeFileSync(join(outDir, `utility-${task.name}.md`), markdown);
      log(`wrote ${join(outDir, `utility-${task.name}.md`)} and ${svgFile}`);
    }
  } finally {
    for (const worker of workerProcesses) await stop(worker);
    await stop(gateway);
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
