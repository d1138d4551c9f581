import { requireNonNegative, requirePositive } from '../../privacy.errors';
import { defineMechanism } from '../mechanism';
import { PublicOnlySampler } from './public-only.sampler';

/** Public-only parameters: the public temperature; no private token. */
export interface PublicOnlyParameters {
  readonly mechanism: 'public-only';
  /** `s`: sets the number of batches only. */
  readonly expectedBatchSize: number;
  /** `tau_pub` >= 0; 0 is greedy. */
  readonly publicTemperature: number;
  /** Always 0. */
  readonly privateTokenCap: 0;
}

/** Generation from the public prompt alone: no record is read, nothing is charged (rho 0). */
export const publicOnly = defineMechanism<PublicOnlyParameters>({
  name: 'public-only',
  charged: true,
  partition: 'none',
  parse: (value) =>
    Object.freeze({
      mechanism: 'public-only',
      expectedBatchSize: requirePositive('expectedBatchSize', value.expectedBatchSize),
      publicTemperature: requireNonNegative('publicTemperature', value.publicTemperature),
      privateTokenCap: 0,
    }),
  rhoPerPrivateToken: () => 0,
  createSampler: (p, vocabSize, rng) => new PublicOnlySampler(vocabSize, p.publicTemperature, rng),
});
