import {
  type Conversion,
  type ReleaseCost,
  type TokenCostParameters,
  admitRelease,
  epsilonFromRho,
  planRelease,
  releaseCost,
} from '@synthgate/privacy';
import { type Command, InvalidArgumentError, Option } from 'commander';

/** Where the privacy commands write their results (stdout by default; tests capture it). */
export interface PrivacyCommandOutput {
  writeOut(text: string): void;
}

const stdout: PrivacyCommandOutput = { writeOut: (text) => void process.stdout.write(text) };

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;

/** A decimal number, or a fraction `a/b` of two (handy for delta: `--delta 1/120000`). */
function parseNumber(text: string): number {
  const parts = text.trim().split('/');
  if (parts.length > 2 || parts.some((part) => !DECIMAL.test(part.trim()))) throw new InvalidArgumentError('must be a number (e.g. 3, 0.2, 1e-6 or 1/120000).');
  const value = parts.length === 2 ? Number(parts[0]) / Number(parts[1]) : Number(parts[0]);
  if (!Number.isFinite(value)) throw new InvalidArgumentError('must be a finite number.');
  return value;
}

function positive(text: string): number {
  const value = parseNumber(text);
  if (!(value > 0)) throw new InvalidArgumentError(`must be > 0, got ${value}.`);
  return value;
}

function nonNegative(text: string): number {
  const value = parseNumber(text);
  if (!(value >= 0)) throw new InvalidArgumentError(`must be >= 0, got ${value}.`);
  return value;
}

function probability(text: string): number {
  const value = parseNumber(text);
  if (!(value > 0 && value < 1)) throw new InvalidArgumentError(`must be in (0, 1), got ${value}.`);
  return value;
}

function expectedBatchSize(text: string): number {
  const value = parseNumber(text);
  if (!(value >= 1)) throw new InvalidArgumentError(`must be >= 1 (the expected number of records per batch), got ${value}.`);
  return value;
}

function tokenCount(text: string): number {
  const value = parseNumber(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`must be a whole number >= 0, got ${text}.`);
  return value;
}

interface MechanismFlags {
  delta: number;
  expectedBatchSize: number;
  clip: number;
  temperature: number;
  svtSigma?: number;
  conversion: Conversion;
  json?: boolean;
}

/** The flags `plan` and `cost` share: the mechanism's parameters, delta, conversion and output. */
function withMechanismFlags(command: Command): Command {
  return command
    .requiredOption('--delta <number>', 'delta of the (epsilon, delta) guarantee, in (0, 1); fractions such as 1/120000 are accepted', probability)
    .requiredOption('--expected-batch-size <number>', 'expected batch size s, the fixed divisor (records / batches), >= 1', expectedBatchSize)
    .requiredOption('--clip <number>', 'logit clip bound c, > 0', positive)
    .requiredOption('--temperature <number>', 'private sampling temperature tau, > 0', positive)
    .option('--svt-sigma <number>', 'sparse-vector noise scale sigma of the public drafter, > 0 (omit: drafter off)', positive)
    .addOption(new Option('--conversion <kind>', 'rho to epsilon conversion').choices(['tight', 'closed']).default('tight'))
    .option('--json', 'print one JSON object');
}

function costParameters(flags: MechanismFlags): TokenCostParameters {
  return { clip: flags.clip, expectedBatchSize: flags.expectedBatchSize, temperature: flags.temperature, svtSigma: flags.svtSigma ?? null };
}

/** The JSON shape both commands print: a `ReleaseCost` flattened, with both conversions for comparison. */
function report(cost: ReleaseCost, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    privateTokens: cost.privateTokenCap,
    rho: cost.rho,
    rhoPerPrivateToken: cost.rhoPerPrivateToken,
    epsilon: cost.epsilon,
    delta: cost.delta,
    conversion: cost.conversion,
    epsilonTight: epsilonFromRho(cost.rho, cost.delta, 'tight'),
    epsilonClosed: epsilonFromRho(cost.rho, cost.delta, 'closed'),
    ...extra,
    parameters: cost.parameters,
  };
}

function formatNumber(value: unknown): string {
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e-3 && Math.abs(value) < 1e6 ? value.toPrecision(7) : value.toExponential(6);
}

function print(output: PrivacyCommandOutput, json: boolean | undefined, fields: Record<string, unknown>, lines: [string, unknown][]): void {
  if (json) {
    output.writeOut(`${JSON.stringify(fields)}\n`);
    return;
  }
  const width = Math.max(...lines.map(([label]) => label.length));
  output.writeOut(lines.map(([label, value]) => `${label.padEnd(width)}  ${formatNumber(value)}`).join('\n') + '\n');
}

function mechanismLines(cost: ReleaseCost): [string, unknown][] {
  const p = cost.parameters;
  return [
    ['mechanism', `c ${p.clip}, s ${p.expectedBatchSize}, tau ${p.temperature}, ${p.svtSigma === null ? 'drafter off' : `svt sigma ${p.svtSigma}`}`],
    ['rho per private token', cost.rhoPerPrivateToken],
  ];
}

/**
 * `synthgate privacy plan|cost`: the release planner of `@synthgate/privacy` on the command line.
 * `plan` finds the largest private-token cap for a target epsilon (after `--spent-rho`, if any);
 * `cost` gives the rho and epsilon of a given cap. Bad flags exit non-zero naming the flag.
 */
export function registerPrivacyCommands(program: Command, output: PrivacyCommandOutput = stdout): void {
  const privacy = program.command('privacy').description('plan and cost differentially private releases (rho-zCDP accounting)');

  withMechanismFlags(
    privacy
      .command('plan')
      .description('the largest number of private tokens per example r that fits a target (epsilon, delta)')
      .requiredOption('--epsilon <number>', 'target epsilon, > 0', positive)
      .option('--spent-rho <number>', 'rho already spent on the dataset, >= 0 (plan against the remaining budget)', nonNegative),
  ).action((flags: MechanismFlags & { epsilon: number; spentRho?: number }) => {
    const spentRho = flags.spentRho ?? 0;
    const budget = { epsilon: flags.epsilon, delta: flags.delta };
    const cost = planRelease(costParameters(flags), budget, { spentRho, conversion: flags.conversion });
    const total = admitRelease(budget, spentRho, cost.rho, flags.conversion);
    print(output, flags.json, report(cost, { targetEpsilon: flags.epsilon, spentRho, totalRho: total.totalRho, totalEpsilon: total.epsilonAfter }), [
      ['private tokens (r)', cost.privateTokenCap],
      ...mechanismLines(cost),
      ['rho', cost.rho],
      [`epsilon (${cost.conversion})`, cost.epsilon],
      ['delta', cost.delta],
      ['target epsilon', flags.epsilon],
      ...(spentRho > 0
        ? ([
            ['spent rho', spentRho],
            [`total epsilon (${cost.conversion})`, total.epsilonAfter],
          ] as [string, unknown][])
        : []),
    ]);
  });

  withMechanismFlags(
    privacy
      .command('cost')
      .description('the rho and epsilon of a release with r private tokens per example')
      .requiredOption('--private-tokens <count>', 'private-token cap r per synthetic example, a whole number >= 0', tokenCount)
      .option('--epsilon <number>', 'budget epsilon, > 0: also report whether the release fits', positive),
  ).action((flags: MechanismFlags & { privateTokens: number; epsilon?: number }) => {
    const cost = releaseCost(costParameters(flags), flags.privateTokens, flags.delta, flags.conversion);
    const fits = flags.epsilon === undefined ? undefined : cost.epsilon <= flags.epsilon;
    print(output, flags.json, report(cost, fits === undefined ? {} : { budgetEpsilon: flags.epsilon, withinBudget: fits }), [
      ['private tokens (r)', cost.privateTokenCap],
      ...mechanismLines(cost),
      ['rho', cost.rho],
      [`epsilon (${cost.conversion})`, cost.epsilon],
      ['delta', cost.delta],
      ...(fits === undefined ? [] : ([['within budget epsilon ' + String(flags.epsilon), fits ? 'yes' : 'no']] as [string, unknown][])),
    ]);
  });
}
