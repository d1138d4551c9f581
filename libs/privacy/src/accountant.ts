import { PrivacyError, requireDelta, requireEpsilon, requireNonNegative, requirePositive } from './privacy.errors';

/*
 * Accounting in rho-zero-concentrated DP (Bun and Steinke 2016). Neighbouring datasets differ by
 * adding or removing one record. Costs of mechanisms on the same dataset add up; epsilon is only
 * ever derived from the total rho, at the dataset's delta.
 */

/** How rho-zCDP is turned into (epsilon, delta)-DP. `tight` is the ledger's; `closed` is for comparison. */
export type Conversion = 'tight' | 'closed';

/** The parameters that determine the cost of one private token (DESIGN.md section 5). */
export interface TokenCostParameters {
  /** Logit clip bound `c`. */
  readonly clip: number;
  /** The fixed divisor `s`: the expected batch size, never the actual row count. */
  readonly expectedBatchSize: number;
  /** Private sampling temperature `tau`. */
  readonly temperature: number;
  /** Sparse-vector noise scale `sigma` of the public drafter; null or absent: drafter off. */
  readonly svtSigma?: number | null;
}

/**
 * rho of one exponential-mechanism token: the mechanism is `eta`-bounded-range with
 * `eta = 2c / (s tau)` (adding or removing a row moves every clipped, averaged logit by at most
 * `c / s`), and eta-bounded range implies `eta^2 / 8`-zCDP (Cesar and Rogers 2021), which is
 * `c^2 / (2 s^2 tau^2)`.
 */
export function exponentialMechanismRho(clip: number, expectedBatchSize: number, temperature: number): number {
  requirePositive('clip', clip);
  requirePositive('expectedBatchSize', expectedBatchSize);
  requirePositive('temperature', temperature);
  const ratio = clip / (expectedBatchSize * temperature);
  return (ratio * ratio) / 2;
}

/**
 * rho of one private (above-threshold) answer of the sparse-vector drafter: AboveThreshold with
 * threshold noise `Lap(sigma)` and query noise `Lap(2 sigma)` on a statistic of sensitivity `1/s`
 * is `epsilon = 2 / (s sigma)`-DP (Dwork and Roth 2014, Theorem 3.23, with `sigma = 2 Delta / epsilon`),
 * and epsilon-DP implies `epsilon^2 / 2`-zCDP: `2 / (s sigma)^2`.
 */
export function sparseVectorRho(expectedBatchSize: number, svtSigma: number): number {
  requirePositive('expectedBatchSize', expectedBatchSize);
  requirePositive('svtSigma', svtSigma);
  const epsilon = 2 / (expectedBatchSize * svtSigma);
  return (epsilon * epsilon) / 2;
}

/** rho charged per private token: `c^2 / (2 s^2 tau^2)`, plus `2 / (s sigma)^2` when the drafter is on. */
export function rhoPerPrivateToken(p: TokenCostParameters): number {
  const mechanism = exponentialMechanismRho(p.clip, p.expectedBatchSize, p.temperature);
  return p.svtSigma === null || p.svtSigma === undefined ? mechanism : mechanism + sparseVectorRho(p.expectedBatchSize, p.svtSigma);
}

/**
 * rho of the Gaussian mechanism with noise standard deviation `sigma` on a query of L2 sensitivity
 * `sensitivity`: `sensitivity^2 / (2 sigma^2)` (Bun and Steinke 2016, Proposition 1.6; the same for
 * the discrete Gaussian on integer queries, CKS 2020 Theorem 4).
 */
export function gaussianMechanismRho(sigma: number, sensitivity = 1): number {
  requirePositive('sigma', sigma);
  requirePositive('sensitivity', sensitivity);
  const ratio = sensitivity / sigma;
  return (ratio * ratio) / 2;
}

/** The smallest sigma whose Gaussian mechanism costs at most `rho` (rounded up so the cost never exceeds it). */
export function gaussianSigmaForRho(rho: number, sensitivity = 1): number {
  requirePositive('rho', rho);
  requirePositive('sensitivity', sensitivity);
  let sigma = sensitivity / Math.sqrt(2 * rho);
  while (gaussianMechanismRho(sigma, sensitivity) > rho) sigma = nextUp(sigma);
  return sigma;
}

/**
 * Composition in zCDP: the rho of running all of the given mechanisms on one dataset is their sum
 * (Bun and Steinke 2016, Lemma 2.3). Summed in a fixed order with Neumaier compensation, so the
 * total of a ledger does not depend on rounding luck.
 */
export function composeRho(rhos: readonly number[]): number {
  let sum = 0;
  let compensation = 0;
  rhos.forEach((rho, index) => {
    requireNonNegative(`rhos[${index}]`, rho);
    const next = sum + rho;
    compensation += Math.abs(sum) >= Math.abs(rho) ? sum - next + rho : rho - next + sum;
    sum = next;
  });
  return sum + compensation;
}

function requireConversion(conversion: unknown): Conversion {
  if (conversion !== 'tight' && conversion !== 'closed') {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'conversion', `must be 'tight' or 'closed', got ${String(conversion)}`);
  }
  return conversion;
}

function requireRho(rho: number): number {
  if (typeof rho !== 'number' || Number.isNaN(rho) || rho < 0) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'rho', `must be a number >= 0, got ${String(rho)}`);
  }
  return rho;
}

/** `rho + 2 sqrt(rho ln(1/delta))` (Bun and Steinke 2016, Proposition 1.3). */
function closedFormEpsilon(rho: number, logInverseDelta: number): number {
  return rho + 2 * Math.sqrt(rho * logInverseDelta);
}

/**
 * The CKS epsilon for RDP order `alpha = 1 + t`: `alpha rho + ln(1 - 1/alpha) - (ln alpha + ln delta) / (alpha - 1)`,
 * written in `t` with log1p so that it stays accurate for alpha near 1 and for very large alpha.
 * It is a valid epsilon for **every** t > 0; the optimum only makes it smallest.
 */
function ckEpsilonAtOrder(rho: number, logInverseDelta: number, t: number): number {
  return (1 + t) * rho - Math.log1p(1 / t) + (logInverseDelta - Math.log1p(t)) / t;
}

/**
 * The tight conversion of Canonne, Kamath and Steinke (2020, Corollary 13): rho-zCDP implies
 * (epsilon, delta)-DP with epsilon = inf over alpha > 1 of the expression in {@link ckEpsilonAtOrder}.
 *
 * Its derivative in alpha is `rho + ln(alpha delta) / (alpha - 1)^2`, so the optimum is the unique
 * root of the increasing function `g(t) = rho t^2 + log1p(t) - ln(1/delta)` (t = alpha - 1), which
 * is negative at t = 0 and non-negative at `t = sqrt(ln(1/delta) / rho)`. Bisection on that bracket
 * runs until the midpoint is no longer representable between the ends (full double precision, at
 * most about 1100 halvings, typically 60-80). Because epsilon is stationary at the root, an error of
 * `x` in t moves epsilon by O(x^2); and because any t gives a valid bound, the value returned (the
 * smaller of the two bracket ends, and never more than the closed form, which is also valid) can
 * only err on the safe side (accountant.spec.ts checks it against an independent minimisation in
 * the paper's alpha form to 1e-9 relative, the reference's own precision).
 */
function tightEpsilon(rho: number, logInverseDelta: number): number {
  let lo = 0;
  let hi = Math.sqrt(logInverseDelta / rho);
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (!(mid > lo && mid < hi)) break;
    if (rho * mid * mid + Math.log1p(mid) - logInverseDelta < 0) lo = mid;
    else hi = mid;
  }
  const atHi = ckEpsilonAtOrder(rho, logInverseDelta, hi);
  const best = lo > 0 ? Math.min(atHi, ckEpsilonAtOrder(rho, logInverseDelta, lo)) : atHi;
  return Math.max(0, Math.min(best, closedFormEpsilon(rho, logInverseDelta)));
}

/**
 * The epsilon at which a rho-zCDP mechanism is (epsilon, delta)-DP.
 * `tight` (default): Canonne-Kamath-Steinke, the one the ledger uses; `closed`: `rho + 2 sqrt(rho ln(1/delta))`.
 * Monotone non-decreasing in rho; `tight <= closed` always.
 */
export function epsilonFromRho(rho: number, delta: number, conversion: Conversion = 'tight'): number {
  requireRho(rho);
  requireDelta('delta', delta);
  requireConversion(conversion);
  if (rho === 0) return 0;
  if (rho === Infinity) return Infinity;
  const logInverseDelta = -Math.log(delta);
  return conversion === 'closed' ? closedFormEpsilon(rho, logInverseDelta) : tightEpsilon(rho, logInverseDelta);
}

/**
 * The largest rho whose {@link epsilonFromRho} (same conversion) is at most `epsilon`; a release
 * whose rho is at most this value fits an (epsilon, delta) budget.
 * `closed`: `(sqrt(ln(1/delta) + epsilon) - sqrt(ln(1/delta)))^2`, computed without cancellation.
 * `tight`: bisection on rho between the closed-form answer (a lower bound, since tight <= closed)
 * and a doubled upper bracket, to full double precision. Either way the result is then checked
 * against the forward conversion, so `epsilonFromRho(rhoForEpsilon(e, d), d) <= e` holds exactly.
 */
export function rhoForEpsilon(epsilon: number, delta: number, conversion: Conversion = 'tight'): number {
  requireEpsilon('epsilon', epsilon);
  requireDelta('delta', delta);
  requireConversion(conversion);
  if (epsilon === 0) return 0;
  const logInverseDelta = -Math.log(delta);
  const root = Math.sqrt(logInverseDelta + epsilon) + Math.sqrt(logInverseDelta);
  let closed = (epsilon * epsilon) / (root * root);
  while (closed > 0 && epsilonFromRho(closed, delta, 'closed') > epsilon) closed = nextDown(closed);
  if (conversion === 'closed') return closed;

  let lo = closed; // tight(lo) <= closed(lo) <= epsilon
  let hi = Math.max(2 * lo, Number.MIN_VALUE);
  while (epsilonFromRho(hi, delta, 'tight') <= epsilon) {
    lo = hi;
    hi *= 2;
  }
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (!(mid > lo && mid < hi)) break;
    if (epsilonFromRho(mid, delta, 'tight') <= epsilon) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The smallest delta at which a rho-zCDP mechanism is (epsilon, delta)-DP, for a given epsilon.
 * `closed`: `exp(-(epsilon - rho)^2 / (4 rho))` for epsilon >= rho (the inverse of the closed form).
 * `tight`: CKS, inf over alpha of `exp((alpha-1)(alpha rho - epsilon)) (1 - 1/alpha)^alpha / (alpha - 1)`;
 * its logarithm is convex in alpha with derivative `(2 alpha - 1) rho - epsilon + ln(1 - 1/alpha)`,
 * whose root is found by bisection as in {@link epsilonFromRho}. Capped at 1.
 */
export function deltaFromRho(rho: number, epsilon: number, conversion: Conversion = 'tight'): number {
  requireRho(rho);
  requireEpsilon('epsilon', epsilon);
  requireConversion(conversion);
  if (rho === 0) return 0;
  if (rho === Infinity) return 1;
  if (conversion === 'closed') return epsilon <= rho ? 1 : Math.min(1, Math.exp(-((epsilon - rho) ** 2) / (4 * rho)));
  const slope = (t: number): number => (2 * t + 1) * rho - epsilon - Math.log1p(1 / t);
  const logDelta = (t: number): number => t * ((1 + t) * rho - epsilon) - (1 + t) * Math.log1p(1 / t) - Math.log(t);
  let lo = 0;
  let hi = 1;
  while (slope(hi) < 0) {
    lo = hi;
    hi *= 2;
  }
  // rho so small that the optimal order overflows: delta underflows to 0 long before.
  if (!Number.isFinite(hi)) return Math.min(1, Math.exp(logDelta(lo)));
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (!(mid > lo && mid < hi)) break;
    if (slope(mid) < 0) lo = mid;
    else hi = mid;
  }
  const best = lo > 0 ? Math.min(logDelta(lo), logDelta(hi)) : logDelta(hi);
  return Math.min(1, Math.exp(best));
}

const scratch = new DataView(new ArrayBuffer(8));

/** The next double above a finite non-negative x. */
function nextUp(x: number): number {
  scratch.setFloat64(0, x);
  scratch.setBigUint64(0, scratch.getBigUint64(0) + 1n);
  return scratch.getFloat64(0);
}

/** The next double below a finite positive x. */
function nextDown(x: number): number {
  scratch.setFloat64(0, x);
  scratch.setBigUint64(0, scratch.getBigUint64(0) - 1n);
  return scratch.getFloat64(0);
}
