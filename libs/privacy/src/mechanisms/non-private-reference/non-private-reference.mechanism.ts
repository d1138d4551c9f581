import { PrivacyError, requireInteger, requireNonNegative, requirePositive } from '../../privacy.errors';
import { defineMechanism } from '../mechanism';
import { NonPrivateReferenceSampler } from './non-private-reference.sampler';

/** The non-private reference's parameters: no clip, no drafter, nothing charged. */
export interface NonPrivateReferenceParameters {
  readonly mechanism: 'non-private-reference';
  /** `s`: sets the number of batches only (the mean divides by the actual rows). */
  readonly expectedBatchSize: number;
  /** Temperature of the raw mean, > 0. */
  readonly temperature: number;
  readonly publicTemperature: number;
  /** Public top-k; 0 (what parse stores when absent): off. */
  readonly topK?: number;
  /** A cap on "private" steps like private prediction's, so both stop alike. */
  readonly privateTokenCap: number;
}

/**
 * The non-private reference (epsilon infinite): the plain mean of the raw logits over the batch's
 * records, no clipping, no noise, no drafter. A utility benchmark's upper reference, allowed only on
 * benchmark datasets (the gateway and a database trigger refuse it elsewhere); never charged, and
 * its records are dealt evenly so no batch is empty.
 */
export const nonPrivateReference = defineMechanism<NonPrivateReferenceParameters>({
  name: 'non-private-reference',
  charged: false,
  partition: 'even',
  parse: (value) => {
    if (value.drafter !== undefined && value.drafter !== null) throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'drafter', 'must be null in the non-private reference');
    return Object.freeze({
      mechanism: 'non-private-reference',
      expectedBatchSize: requirePositive('expectedBatchSize', value.expectedBatchSize),
      temperature: requirePositive('temperature', value.temperature),
      publicTemperature: requireNonNegative('publicTemperature', value.publicTemperature),
      topK: requireInteger('topK', value.topK ?? 0, 0),
      privateTokenCap: requireInteger('privateTokenCap', value.privateTokenCap, 0),
    });
  },
  rhoPerPrivateToken: () => Infinity,
  createSampler: (p, vocabSize, rng) => new NonPrivateReferenceSampler(vocabSize, p, rng),
});
