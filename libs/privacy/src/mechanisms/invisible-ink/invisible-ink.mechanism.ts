import { requireInteger, requirePositive } from '../../privacy.errors';
import { defineMechanism } from '../mechanism';
import { InvisibleInkSampler, invisibleInkRhoPerToken } from './invisible-ink.sampler';

/** The parameters of InvisibleInk (clipping around the public logits, public top-k+), stored once with a release. */
export interface InvisibleInkParameters {
  readonly mechanism: 'invisible-ink';
  /** `s` > 0: the fixed divisor of the aggregate. */
  readonly expectedBatchSize: number;
  /** `C` > 0: the clip bound on each private row's log-probability difference to the public row. */
  readonly clip: number;
  /** `tau` > 0: the sampling temperature. */
  readonly temperature: number;
  /** k of the public top-k+ (>= 0; 0: the whole vocabulary). */
  readonly topK: number;
  /** `r`: the cap on private tokens per example (every token is private). */
  readonly privateTokenCap: number;
}

/**
 * InvisibleInk (Vinod, Pillutla and Thakurta 2025): `phi = l_pub + sum_i clip_C(l_i - l_pub) / s`
 * over the public top-k+, sampled at `tau`. One token costs `C^2 / (2 s^2 tau^2)` (its
 * `2C/(s tau)`-bounded range), known before any record is read.
 */
export const invisibleInk = defineMechanism<InvisibleInkParameters>({
  name: 'invisible-ink',
  charged: true,
  partition: 'keyed-hash',
  parse: (value) =>
    Object.freeze({
      mechanism: 'invisible-ink',
      expectedBatchSize: requirePositive('expectedBatchSize', value.expectedBatchSize),
      clip: requirePositive('clip', value.clip),
      temperature: requirePositive('temperature', value.temperature),
      topK: requireInteger('topK', value.topK ?? 0, 0),
      privateTokenCap: requireInteger('privateTokenCap', value.privateTokenCap, 0),
    }),
  rhoPerPrivateToken: (p) => invisibleInkRhoPerToken(p),
  createSampler: (p, vocabSize, rng) => new InvisibleInkSampler(vocabSize, p, rng),
});
