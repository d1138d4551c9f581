/**
 * @synthgate/privacy: the privacy core of Synthgate, pure TypeScript (no Nest, database or ONNX).
 * DESIGN.md sections 4 and 5. Everything a release's guarantee rests on lives here:
 *
 * - randomness: {@link Rng}, {@link CryptoRng} (production), {@link SeededRng} (tests);
 * - noise: continuous Laplace / Gaussian with unbounded tails, exact discrete Laplace / Gaussian;
 * - mechanisms: one folder each under mechanisms/ (parameters, cost, {@link TokenSampler}),
 *   registered in {@link MECHANISMS} / {@link mechanismRegistry}: private prediction
 *   ({@link PrivateTokenSampler} and its building blocks: clip and recentre, private aggregate with
 *   the fixed divisor s, exponential mechanism in log space, sparse-vector drafter, public sampling,
 *   public top-k), public-only, and the non-private reference;
 * - the private rows' aggregation as a pure specification ({@link TOKEN_AGGREGATION}, its reference
 *   {@link evaluateAggregation}) that an engine may compute inside its model graph, and the
 *   {@link AggregatingTokenSampler} capability that takes the aggregated step;
 * - accounting in rho-zCDP: per-token rho, composition, rho <-> (epsilon, delta) both ways with the
 *   tight Canonne-Kamath-Steinke conversion or the closed form, the Gaussian count mechanism;
 * - planning: the largest private-token cap for a budget, the cost of a cap as a
 *   {@link ReleaseCost} value for the ledger, and the admission rule.
 *
 * How the gateway is expected to use the accounting (so that planner and admission agree to the
 * last bit): `spentRho = composeRho(ledger rhos)`; plan with `planRelease(params, budget, { spentRho })`;
 * admit with `admitRelease(budget, spentRho, cost.rho)`; show spent epsilon as
 * `epsilonFromRho(spentRho, budget.delta)` (tight). Store the `ReleaseCost` as JSON and read it back
 * with `releaseCostFromJson`, which re-derives it from its parameters.
 */
export { type Rng, CryptoRng, KeyedStreamRng, SeededRng, nextUint53 } from './rng';
export { batchOfRecord, batchRng, referencePartition } from './partition';
export { sampleGaussian, sampleLaplace, sampleStandardExponential } from './noise';
export { sampleDiscreteGaussian, sampleDiscreteLaplace } from './discrete-noise';
export {
  type LogitBuffer,
  accumulateClippedRows,
  accumulateSoftmaxRow,
  clipAndRecentre,
  privateAggregate,
  rowMaximum,
  sampleFromWeights,
  selectTopK,
  softmaxWeights,
  sparseVectorStatistic,
  sparseVectorStatisticFromSum,
} from './token-mechanism';
export {
  type AggregatedStep,
  type AggregationNode,
  type AggregationOutputName,
  type AggregationParameterName,
  type AggregationRequest,
  type AggregationSpec,
  aggregationParameters,
  clipAggregatesInFloat32,
  evaluateAggregation,
  FLOAT32_MAX,
  float32ClipBound,
  TOKEN_AGGREGATION,
} from './token-aggregation';
export { type AggregatingTokenSampler, type TokenDecision, type TokenSampler, aggregationOf, takesAggregatedSteps } from './token-sampler';
export { TokenCandidates } from './token-candidates';
export { type TokenMechanismParams, PrivateTokenSampler } from './mechanisms/private-prediction/private-token-sampler';
export { NonPrivateReferenceSampler } from './mechanisms/non-private-reference/non-private-reference.sampler';
export { PublicOnlySampler } from './mechanisms/public-only/public-only.sampler';
export {
  type MechanismDefinition,
  type MechanismParametersBase,
  type RecordPartition,
  type RegisteredMechanism,
  defineMechanism,
  MechanismRegistry,
} from './mechanisms/mechanism';
export { type PrivatePredictionParameters, tokenCostParameters } from './mechanisms/private-prediction/private-prediction.mechanism';
export { type NonPrivateReferenceParameters } from './mechanisms/non-private-reference/non-private-reference.mechanism';
export { type PublicOnlyParameters } from './mechanisms/public-only/public-only.mechanism';
export { type MechanismName, type MechanismParameters, MECHANISMS, mechanismRegistry } from './mechanisms/registry';
export { type MechanismReleaseCost, mechanismReleaseCost, mechanismReleaseCostFromJson } from './mechanisms/mechanism-cost';
export {
  type InvisibleInkParams,
  InvisibleInkSampler,
  invisibleInkRhoPerToken,
  publicTopKPlus,
  validateInvisibleInkParams,
} from './mechanisms/invisible-ink/invisible-ink.sampler';
export { type InvisibleInkParameters } from './mechanisms/invisible-ink/invisible-ink.mechanism';
export {
  type Conversion,
  type TokenCostParameters,
  composeRho,
  deltaFromRho,
  epsilonFromRho,
  exponentialMechanismRho,
  gaussianMechanismRho,
  gaussianSigmaForRho,
  rhoForEpsilon,
  rhoPerPrivateToken,
  sparseVectorRho,
} from './accountant';
export {
  type DpKMeansParameters,
  type DpKMeansResult,
  dpKMeans,
  dpKMeansIterationRho,
  dpKMeansRho,
  lloydKMeansNonPrivate,
  nearestCentroid,
  quantiseRecordVector,
  randomUnitCentroids,
  SUM_GRANULARITY,
  validateDpKMeansParameters,
} from './dp-kmeans';
export { type NoisyCounts, clampCounts, gaussianCountRho, noisyCounts } from './count-mechanism';
export {
  type AdmissionDecision,
  type PlanOptions,
  type PrivacyBudget,
  type ReleaseCost,
  admitRelease,
  maxPrivateTokens,
  planRelease,
  releaseCost,
  releaseCostFromJson,
} from './release-planner';
export { type PrivacyErrorCode, MIN_NORMAL_DOUBLE, PrivacyError } from './privacy.errors';
export { floatingPointDelta, MIN_LOG_WEIGHT } from './floating-point';
