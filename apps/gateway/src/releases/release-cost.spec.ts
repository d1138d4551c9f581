import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mechanismRegistry } from '@synthgate/privacy';
import { priceRelease } from './release-cost';
import { type ValidatedRequest } from './release-request';

/*
 * priceRelease's answers recorded with the code before mechanisms moved behind libs/privacy's
 * registry (when the gateway mapped `batchSize` to the accountant's parameters by hand): the stored
 * cost of the same request must not change by a bit.
 */
const RECORDED = JSON.parse(readFileSync(join(__dirname, '__fixtures__', 'release-cost-before-registry.json'), 'utf8')) as Record<string, { privateTokenCap: number; cost: unknown }>;

const base = {
  model: 'tiny',
  maxTokens: 48,
  maxPromptTokens: 96,
  labels: null,
  labelAllocation: null,
  promptTemplate: 't {text}',
  publicPromptTemplate: 't',
  targetEpsilon: null,
  publicTemperature: 1,
} as const;
const CASES: Record<string, { request: ValidatedRequest; delta: number; vocab: number }> = {
  design: { request: { ...base, mode: 'PRIVATE', expectedBatchSize: 255, clip: 10, temperature: 2, drafter: { threshold: 0.5, sigma: 0.2 }, topK: 0, privateTokenCap: 40 }, delta: 1 / 120000, vocab: 32000 },
  noDrafterTopK: { request: { ...base, mode: 'PRIVATE', expectedBatchSize: 10, clip: 1, temperature: 2, drafter: null, topK: 50, privateTokenCap: 8 }, delta: 1e-6, vocab: 320 },
  target: {
    request: { ...base, mode: 'PRIVATE', expectedBatchSize: 40, clip: 4, temperature: 1.5, drafter: { threshold: 1, sigma: 0.3 }, topK: 0, privateTokenCap: null, targetEpsilon: 2 },
    delta: 1e-6,
    vocab: 320,
  },
  dpCount: {
    request: { ...base, mode: 'PRIVATE', expectedBatchSize: 5, clip: 1, temperature: 2, drafter: null, topK: 0, privateTokenCap: 4, labels: ['a', 'b'], labelAllocation: { mode: 'DP_COUNT', countSigma: 3 } },
    delta: 1e-6,
    vocab: 320,
  },
  targetDpCount: {
    request: {
      ...base,
      mode: 'PRIVATE',
      expectedBatchSize: 5,
      clip: 1,
      temperature: 2,
      drafter: null,
      topK: 0,
      privateTokenCap: null,
      targetEpsilon: 5,
      labels: ['a', 'b'],
      labelAllocation: { mode: 'DP_COUNT', countSigma: 3 },
    },
    delta: 1e-6,
    vocab: 320,
  },
  publicOnly: { request: { ...base, mode: 'PUBLIC_ONLY', expectedBatchSize: 20, clip: 10, temperature: 2, drafter: null, topK: 0, privateTokenCap: 0 }, delta: 1e-6, vocab: 320 },
  reference: { request: { ...base, mode: 'NON_PRIVATE_REFERENCE', expectedBatchSize: 10, clip: 10, temperature: 2, drafter: null, topK: 0, privateTokenCap: 48 }, delta: 1e-6, vocab: 320 },
};

describe('priceRelease', () => {
  it.each(Object.keys(CASES))('%s: the stored cost is the one recorded before the registry, bit for bit', (name) => {
    const { request, delta, vocab } = CASES[name]!;
    const { cost, mechanism } = priceRelease(request, delta, vocab);
    expect(JSON.parse(JSON.stringify(cost))).toEqual(RECORDED[name]!.cost);
    expect(mechanism.privateTokenCap).toBe(RECORDED[name]!.privateTokenCap);
    expect(mechanism.expectedBatchSize).toBe(request.expectedBatchSize);
    // The parameters the release stores are what its registry entry accepts, and they price the same.
    expect(mechanismRegistry.parse(mechanism)).toEqual(mechanism);
    if (mechanism.mechanism === 'private-prediction') {
      expect(mechanismRegistry.of(mechanism).rhoPerPrivateToken(mechanism)).toBe((cost as { rhoPerPrivateToken: number }).rhoPerPrivateToken);
    }
  });

  it('names one mechanism per mode', () => {
    expect(Object.fromEntries(Object.entries(CASES).map(([name, c]) => [name, priceRelease(c.request, c.delta, c.vocab).mechanism.mechanism]))).toEqual({
      design: 'private-prediction',
      noDrafterTopK: 'private-prediction',
      target: 'private-prediction',
      dpCount: 'private-prediction',
      targetDpCount: 'private-prediction',
      publicOnly: 'public-only',
      reference: 'non-private-reference',
    });
  });
});
