import { type Conversion, type TokenCostParameters, epsilonFromRho, rhoForEpsilon, rhoPerPrivateToken } from './accountant';
import { type MechanismReleaseCost, mechanismReleaseCostFromJson, type TokenCapCost, tokenCapCost } from './mechanisms/mechanism-cost';
import { PrivacyError, requireDelta, requireEpsilon, requireInteger, requireNonNegative, requirePositive } from './privacy.errors';

/*
 * Release planning (DESIGN.md section 5.7): a release's rho is fixed before it starts, from its
 * parameters alone, as `privateTokenCap * rhoPerPrivateToken`. Batches are disjoint (each record
 * lands in exactly one), so the cost does not grow with the number of batches; and nothing is
 * refunded when a batch uses fewer private tokens than the cap.
 */

/** A dataset's (epsilon, delta) budget. */
export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

/**
 * The cost of one release, a frozen JSON-serialisable value the gateway stores with the release
 * and in its ledger entry. `rho` is what composes (adds up) across releases; `epsilon` is this
 * release alone at `delta` under `conversion`, for display: a dataset's spent epsilon is always
 * recomputed from its total rho.
 */
export interface ReleaseCost extends TokenCapCost {
  /** Format version of this object. */
  readonly version: 1;
  /** Which mechanism the parameters belong to. */
  readonly mechanism: 'private-prediction';
  /**
   * The cost-determining part of the mechanism's parameters (`svtSigma` null when the drafter is
   * off), recorded so the cost can be re-derived ({@link releaseCostFromJson}); the release's full
   * parameters are stored once with the release.
   */
  readonly parameters: TokenCostParameters & { readonly svtSigma: number | null };
}

/** Options of the planner. */
export interface PlanOptions {
  /** rho already spent on the dataset (the sum of its ledger, see `composeRho`); default 0. */
  readonly spentRho?: number;
  /** Default `tight`, the ledger's conversion. */
  readonly conversion?: Conversion;
}

/** The answer to "may this release run?", see {@link admitRelease}. */
export interface AdmissionDecision {
  readonly admitted: boolean;
  /** Total rho after the release (spent + release). */
  readonly totalRho: number;
  /** Dataset epsilon before and after the release, at the budget's delta. */
  readonly epsilonBefore: number;
  readonly epsilonAfter: number;
  /** `budget.epsilon - epsilonAfter` (negative when refused). */
  readonly remainingEpsilon: number;
}

function costEvidence(p: TokenCostParameters): ReleaseCost['parameters'] {
  return Object.freeze({
    clip: p.clip,
    expectedBatchSize: p.expectedBatchSize,
    temperature: p.temperature,
    svtSigma: p.svtSigma ?? null,
  });
}

/** The cost of a release with private-token cap `privateTokenCap` ("given r, the epsilon"). */
export function releaseCost(
  parameters: TokenCostParameters,
  privateTokenCap: number,
  delta: number,
  conversion: Conversion = 'tight',
): ReleaseCost {
  requireInteger('privateTokenCap', privateTokenCap, 0);
  requireDelta('delta', delta);
  return Object.freeze({
    version: 1,
    mechanism: 'private-prediction',
    parameters: costEvidence(parameters),
    ...tokenCapCost(privateTokenCap, rhoPerPrivateToken(parameters), delta, conversion),
  });
}

/**
 * Whether spending `rho` more keeps the dataset within `budget`: the total `spentRho + rho` (one
 * addition, the same one the planner makes) converted at the budget's delta must not exceed the
 * budget's epsilon. The gateway admits with this function, under the dataset row lock.
 */
export function admitRelease(budget: PrivacyBudget, spentRho: number, rho: number, conversion: Conversion = 'tight'): AdmissionDecision {
  requireEpsilon('budget.epsilon', budget.epsilon);
  requireDelta('budget.delta', budget.delta);
  requireNonNegative('spentRho', spentRho);
  requireNonNegative('rho', rho);
  const totalRho = spentRho + rho;
  const epsilonAfter = epsilonFromRho(totalRho, budget.delta, conversion);
  return Object.freeze({
    admitted: epsilonAfter <= budget.epsilon,
    totalRho,
    epsilonBefore: epsilonFromRho(spentRho, budget.delta, conversion),
    epsilonAfter,
    remainingEpsilon: budget.epsilon - epsilonAfter,
  });
}

/**
 * The largest private-token cap `r` such that spending `r * rhoPerPrivateToken` on top of
 * `spentRho` keeps the dataset within `budget` (by {@link admitRelease}'s rule). 0 when even one
 * token does not fit. Starts from the inverse conversion and then steps by one until
 * `r` fits and `r + 1` does not, so floating-point rounding can never make it one too large.
 */
export function maxPrivateTokens(parameters: TokenCostParameters, budget: PrivacyBudget, options: PlanOptions = {}): number {
  const conversion = options.conversion ?? 'tight';
  const spentRho = options.spentRho ?? 0;
  requireEpsilon('budget.epsilon', budget.epsilon);
  requireDelta('budget.delta', budget.delta);
  requireNonNegative('spentRho', spentRho);
  const perToken = rhoPerPrivateToken(parameters);
  const fits = (r: number): boolean => admitRelease(budget, spentRho, r * perToken, conversion).admitted;
  if (!fits(0)) return 0;
  const available = rhoForEpsilon(budget.epsilon, budget.delta, conversion) - spentRho;
  let r = Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.floor(available / perToken)));
  while (r > 0 && !fits(r)) r -= 1;
  while (r < Number.MAX_SAFE_INTEGER && fits(r + 1)) r += 1;
  return r;
}

/**
 * Plans a release: the largest private-token cap that fits the budget (after `spentRho`), as a
 * {@link ReleaseCost} at the budget's delta. `privateTokenCap` 0 means the budget cannot afford
 * a single private token with these parameters.
 */
export function planRelease(parameters: TokenCostParameters, budget: PrivacyBudget, options: PlanOptions = {}): ReleaseCost {
  const r = maxPrivateTokens(parameters, budget, options);
  return releaseCost(parameters, r, budget.delta, options.conversion ?? 'tight');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function agrees(stored: unknown, recomputed: number): boolean {
  if (typeof stored !== 'number') return false;
  if (stored === recomputed) return true;
  return Math.abs(stored - recomputed) <= 1e-12 * Math.max(Math.abs(stored), Math.abs(recomputed));
}

/**
 * Reads a stored {@link ReleaseCost} back (e.g. from a ledger entry's JSON) and re-derives it from
 * its own parameters: a cost whose rho or epsilon does not follow from its parameters (within
 * 1e-12 relative, for conversions computed by an older build) is refused with
 * `INVALID_RELEASE_COST`, so a tampered or corrupted entry cannot pass as valid. Format 2 (any
 * registered mechanism, {@link MechanismReleaseCost}) is re-derived through the production registry.
 */
export function releaseCostFromJson(value: unknown): ReleaseCost | MechanismReleaseCost {
  const fail = (field: string, rule: string): never => {
    throw new PrivacyError('INVALID_RELEASE_COST', field, rule);
  };
  if (!isRecord(value)) return fail('releaseCost', 'must be an object');
  if (value.version === 2) return mechanismReleaseCostFromJson(value);
  if (value.version !== 1) fail('version', 'must be 1 or 2');
  if (value.mechanism !== 'private-prediction') fail('mechanism', "must be 'private-prediction'");
  const parameters = value.parameters;
  if (!isRecord(parameters)) return fail('parameters', 'must be an object');
  const svtSigma = parameters.svtSigma;
  if (svtSigma !== null && typeof svtSigma !== 'number') fail('parameters.svtSigma', 'must be a number or null');
  const conversion = value.conversion;
  if (conversion !== 'tight' && conversion !== 'closed') return fail('conversion', "must be 'tight' or 'closed'");
  let recomputed: ReleaseCost;
  try {
    recomputed = releaseCost(
      {
        clip: requirePositive('parameters.clip', parameters.clip),
        expectedBatchSize: requirePositive('parameters.expectedBatchSize', parameters.expectedBatchSize),
        temperature: requirePositive('parameters.temperature', parameters.temperature),
        svtSigma: svtSigma as number | null,
      },
      value.privateTokenCap as number,
      value.delta as number,
      conversion,
    );
  } catch (error) {
    if (error instanceof PrivacyError) return fail(error.field, error.message.slice(error.field.length + 1));
    throw error;
  }
  for (const field of ['rhoPerPrivateToken', 'rho', 'epsilon'] as const) {
    if (!agrees(value[field], recomputed[field])) fail(field, `does not follow from the parameters (stored ${String(value[field])}, recomputed ${recomputed[field]})`);
  }
  return recomputed;
}
