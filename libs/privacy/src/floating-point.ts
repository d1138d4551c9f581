import { requireInteger, requirePositive } from './privacy.errors';

/**
 * The smallest log-weight, relative to the largest, that the exponential mechanism gives a token
 * (`softmaxWeights` floors `scale * (x - max)` here). `e^-700` is about 1e-304, a normal double, so
 * no weight is ever subnormal or 0, whatever c, s, tau and the batch's actual row count n.
 *
 * Why the floor keeps the guarantee (proof sketch; libs/privacy/README.md has it in full): with
 * scores `a_j = A_j / (s tau)` and `m = max_j a_j`, the sampler uses `v_j = max(a_j, m - 700)`.
 * Adding or removing a record moves every `a_j` by an amount in `[l, l + 2c/(s tau)]` for one `l`,
 * so `m` moves within the same interval, and so does `v_j` (a maximum of two terms that each move
 * within it). Hence `softmax(v)` is `2c/(s tau)`-bounded-range exactly like `softmax(a)`: the floor
 * is part of the mechanism, not an approximation of it. Without it, `s = 1e5, c = 1000, tau = 0.05`
 * gave a token a subnormal weight with a record and exactly 0 without it (D_inf = inf).
 */
export const MIN_LOG_WEIGHT = -700;

/**
 * The delta that floating-point sampling adds to a release's guarantee. Inversion sampling with a
 * 53-bit uniform realises each token's probability to within 2^-51 (argument in
 * `sampleFromWeights`), so each neighbour's law is within total variation `V 2^-52` of the exact
 * one, and a private token is `(eps_tok, (1 + e^eps_tok) V 2^-52)`-DP with `eps_tok = 2c/(s tau)`.
 * A record is in one batch and meets at most r private tokens:
 * `r (1 + e^(2c/(s tau))) V 2^-52`, about 1.2e-10 for the default model (V = 4096) with r = 64,
 * c = 10, s = 255, tau = 2. The release's epsilon holds at the dataset's delta plus this.
 *
 * The same delta covers the aggregate computed inside the engine's graph (token-aggregation.ts):
 * each row's term is a float32 in [-c32, c32], c32 <= c, and on a grid of `ulp(c32) / 2`, so the
 * float64 sum over rows is exact in any order and neighbours differ by exactly one row's term:
 * the scores `clippedSum / (s tau)` are `2c/(s tau)`-bounded-range with no rounding term, and the
 * sampling that follows is this file's (libs/privacy/README.md, "Aggregation inside the graph").
 */
export function floatingPointDelta(params: {
  readonly vocabSize: number;
  readonly privateTokenCap: number;
  readonly clip: number;
  readonly expectedBatchSize: number;
  readonly temperature: number;
}): number {
  requireInteger('vocabSize', params.vocabSize, 1);
  requireInteger('privateTokenCap', params.privateTokenCap, 0);
  requirePositive('clip', params.clip);
  requirePositive('expectedBatchSize', params.expectedBatchSize);
  requirePositive('temperature', params.temperature);
  const epsilonPerToken = (2 * params.clip) / (params.expectedBatchSize * params.temperature);
  return params.privateTokenCap * (1 + Math.exp(epsilonPerToken)) * params.vocabSize * 2 ** -52;
}
