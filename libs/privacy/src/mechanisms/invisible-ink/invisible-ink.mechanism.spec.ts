import { epsilonFromRho } from '../../accountant';
import { SeededRng } from '../../rng';
import { mechanismReleaseCost, mechanismReleaseCostFromJson } from '../mechanism-cost';
import { mechanismRegistry } from '../registry';
import { InvisibleInkSampler } from './invisible-ink.sampler';

describe('InvisibleInk in the mechanism registry', () => {
  const parameters = { mechanism: 'invisible-ink', expectedBatchSize: 8, clip: 0.5, temperature: 1, topK: 40, privateTokenCap: 12 } as const;

  it('is one registry entry: charged, keyed-hash partition, rho C^2/(2 s^2 tau^2) per token from its parameters alone', () => {
    const entry = mechanismRegistry.get('invisible-ink');
    expect(entry).toMatchObject({ name: 'invisible-ink', charged: true, partition: 'keyed-hash' });
    expect(entry.rhoPerPrivateToken(parameters)).toBe(0.25 / (2 * 64)); // 0.001953125, exact
    const smaller = { ...parameters, expectedBatchSize: 4, temperature: 0.5 };
    expect(entry.rhoPerPrivateToken(smaller)).toBe(0.25 / (2 * 16 * 0.25));
    expect(entry.createSampler(parameters, 100, new SeededRng(1))).toBeInstanceOf(InvisibleInkSampler);
  });

  it('keeps only its own fields, and refuses bad ones naming the field', () => {
    const entry = mechanismRegistry.get('invisible-ink');
    expect(entry.parse({ ...parameters, drafter: { threshold: 1, sigma: 1 }, extra: 1 })).toEqual(parameters);
    expect(entry.parse({ ...parameters, topK: undefined })).toEqual({ ...parameters, topK: 0 });
    expect(() => entry.parse({ ...parameters, clip: 0 })).toThrow(/^clip must be a finite number > 0/);
    expect(() => entry.parse({ ...parameters, temperature: -1 })).toThrow(/^temperature /);
    expect(() => entry.parse({ ...parameters, privateTokenCap: 1.5 })).toThrow(/^privateTokenCap /);
    expect(() => entry.parse({ ...parameters, mechanism: 'private-prediction' })).toThrow(/^mechanism must be 'invisible-ink'/);
  });

  it('prices a release through the registry (cost format 2): r x C^2/(2 s^2 tau^2), re-derived from the stored JSON', () => {
    const cost = mechanismReleaseCost(parameters, 1e-6);
    expect(cost).toMatchObject({ version: 2, mechanism: 'invisible-ink', privateTokenCap: 12, rhoPerPrivateToken: 0.001953125, rho: 12 * 0.001953125 });
    expect(cost.epsilon).toBe(epsilonFromRho(12 * 0.001953125, 1e-6, 'tight'));
    expect(mechanismReleaseCostFromJson(JSON.parse(JSON.stringify(cost)))).toEqual(cost);
    expect(() => mechanismReleaseCostFromJson({ ...JSON.parse(JSON.stringify(cost)), rho: cost.rho / 2 })).toThrow(/^rho does not follow/);
  });
});
