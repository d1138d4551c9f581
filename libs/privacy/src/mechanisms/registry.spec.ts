import { PrivacyError } from '../privacy.errors';
import { releaseCost, releaseCostFromJson } from '../release-planner';
import { SeededRng } from '../rng';
import { randomRows } from '../testing/logit-cases';
import { type TokenSampler } from '../token-sampler';
import { defineMechanism, MechanismRegistry } from './mechanism';
import { mechanismReleaseCost } from './mechanism-cost';
import { NonPrivateReferenceSampler } from './non-private-reference/non-private-reference.sampler';
import { type PrivatePredictionParameters, tokenCostParameters } from './private-prediction/private-prediction.mechanism';
import { PrivateTokenSampler } from './private-prediction/private-token-sampler';
import { PublicOnlySampler } from './public-only/public-only.sampler';
import { MECHANISMS, type MechanismParameters, mechanismRegistry } from './registry';

const PRIVATE: MechanismParameters = {
  mechanism: 'private-prediction',
  expectedBatchSize: 255,
  clip: 10,
  temperature: 2,
  publicTemperature: 1,
  topK: 0,
  drafter: { threshold: 0.5, sigma: 0.2 },
  privateTokenCap: 40,
};

describe('the production mechanism registry', () => {
  it('holds private prediction, public-only, the non-private reference and InvisibleInk, each with its record partition and charge', () => {
    expect(mechanismRegistry.names).toEqual(['private-prediction', 'public-only', 'non-private-reference', 'invisible-ink']);
    expect(Object.values(MECHANISMS).map((m) => [m.name, m.partition, m.charged])).toEqual([
      ['private-prediction', 'keyed-hash', true],
      ['public-only', 'none', true],
      ['non-private-reference', 'even', false],
      ['invisible-ink', 'keyed-hash', true],
    ]);
  });

  it('prices one private token by DESIGN.md section 5 (c 10, s 255, tau 2, sigma 0.2: rho 9.611688e-4)', () => {
    expect(mechanismRegistry.of(PRIVATE).rhoPerPrivateToken(PRIVATE)).toBeCloseTo(9.611688e-4, 9);
    const withoutDrafter = { ...PRIVATE, drafter: null };
    expect(mechanismRegistry.of(PRIVATE).rhoPerPrivateToken(withoutDrafter)).toBe((10 / (255 * 2)) ** 2 / 2);
    const publicOnly: MechanismParameters = { mechanism: 'public-only', expectedBatchSize: 10, publicTemperature: 1, privateTokenCap: 0 };
    expect(mechanismRegistry.of(publicOnly).rhoPerPrivateToken(publicOnly)).toBe(0);
    const reference: MechanismParameters = { mechanism: 'non-private-reference', expectedBatchSize: 10, temperature: 1, publicTemperature: 1, topK: 0, privateTokenCap: 8 };
    expect(mechanismRegistry.of(reference).rhoPerPrivateToken(reference)).toBe(Infinity);
  });

  it('parses parameters into their stored shape, defaulting topK and the drafter', () => {
    expect(mechanismRegistry.parse({ ...PRIVATE, topK: undefined, drafter: undefined } as MechanismParameters)).toEqual({ ...PRIVATE, topK: 0, drafter: null });
  });

  it.each([
    ['expectedBatchSize', { expectedBatchSize: 0 }],
    ['clip', { clip: -1 }],
    ['temperature', { temperature: Number.NaN }],
    ['publicTemperature', { publicTemperature: -1 }],
    ['topK', { topK: 1.5 }],
    ['drafter.sigma', { drafter: { threshold: 0.5, sigma: 0 } }],
    ['drafter.threshold', { drafter: { threshold: Infinity, sigma: 1 } }],
    ['privateTokenCap', { privateTokenCap: -1 }],
  ])('refuses a bad %s, naming it', (field, change) => {
    const parse = () => mechanismRegistry.parse({ ...PRIVATE, ...change } as MechanismParameters);
    expect(parse).toThrow(PrivacyError);
    expect(parse).toThrow(new RegExp(`^${field.replace('.', '\\.')} `));
  });

  it('refuses an unknown mechanism, a drafter on the non-private reference, and parameters of another mechanism', () => {
    expect(() => mechanismRegistry.get('clustered')).toThrow(/^mechanism must be one of private-prediction, public-only, non-private-reference, invisible-ink, got "clustered"/);
    const withDrafter = { mechanism: 'non-private-reference', expectedBatchSize: 1, temperature: 1, publicTemperature: 1, privateTokenCap: 1, drafter: { threshold: 1, sigma: 1 } };
    expect(() => mechanismRegistry.parse(withDrafter)).toThrow(/^drafter /);
    expect(() => MECHANISMS['public-only'].parse(PRIVATE)).toThrow(/^mechanism must be 'public-only'/);
  });

  it('builds each mechanism its own sampler', () => {
    const rng = new SeededRng('samplers');
    expect(mechanismRegistry.of(PRIVATE).createSampler(PRIVATE, 8, rng)).toBeInstanceOf(PrivateTokenSampler);
    const publicOnly = { mechanism: 'public-only', expectedBatchSize: 1, publicTemperature: 0, privateTokenCap: 0 };
    expect(mechanismRegistry.get('public-only').createSampler(publicOnly, 8, rng)).toBeInstanceOf(PublicOnlySampler);
    const reference = { mechanism: 'non-private-reference', expectedBatchSize: 1, temperature: 1, publicTemperature: 1, privateTokenCap: 1 };
    expect(mechanismRegistry.get('non-private-reference').createSampler(reference, 8, rng)).toBeInstanceOf(NonPrivateReferenceSampler);
  });

  it('takes a new mechanism with one registration, and refuses a name twice', () => {
    const draws: number[] = [];
    const constant = defineMechanism<{ mechanism: 'constant'; expectedBatchSize: number; privateTokenCap: number }>({
      name: 'constant',
      charged: true,
      partition: 'keyed-hash',
      parse: () => ({ mechanism: 'constant', expectedBatchSize: 1, privateTokenCap: 1 }),
      rhoPerPrivateToken: () => 0.5,
      createSampler: (_p, vocabSize) => {
        draws.push(vocabSize);
        return new PublicOnlySampler(vocabSize, 0, new SeededRng(0));
      },
    });
    const registry = mechanismRegistry.with(constant);
    expect(registry.names).toContain('constant');
    expect(registry.get('constant').rhoPerPrivateToken({ mechanism: 'constant', expectedBatchSize: 1, privateTokenCap: 1 })).toBe(0.5);
    registry.get('constant').createSampler({ mechanism: 'constant', expectedBatchSize: 1, privateTokenCap: 1 }, 5, new SeededRng(1));
    expect(draws).toEqual([5]);
    expect(() => new MechanismRegistry([constant, constant])).toThrow(/'constant' is registered twice/);
    expect(mechanismRegistry.names).not.toContain('constant');
  });
});

describe('public-only sampling', () => {
  it('draws exactly what the old plain generation drew: the non-private reference over the prompt row alone', () => {
    // Before the registry, generateText sampled with the non-private reference fed the prompt's row as its one private row.
    for (const temperature of [0.5, 1, 1.7]) {
      const publicOnly: TokenSampler = new PublicOnlySampler(16, temperature, new SeededRng(`public-${temperature}`));
      const reference: TokenSampler = new NonPrivateReferenceSampler(16, { temperature, publicTemperature: temperature }, new SeededRng(`public-${temperature}`));
      const rng = new SeededRng('rows');
      for (let step = 0; step < 500; step++) {
        const row = randomRows(rng, 1, 16);
        expect(publicOnly.next(row, 0, row)).toEqual({ token: reference.next(row, 1, row).token, private: false });
      }
    }
  });

  it('is greedy at tau_pub 0 and never private', () => {
    const sampler = new PublicOnlySampler(4, 0, new SeededRng(0));
    expect(sampler.next(new Float32Array(8), 2, Float32Array.of(1, 3, 3, 0))).toEqual({ token: 1, private: false });
    expect(sampler.isPrivateStep(new Float32Array(8), 2, new Float32Array(4))).toBe(false);
    expect(sampler.privateSteps).toBe(0);
  });
});

describe('the cost of any registered mechanism (format 2)', () => {
  it('is r times the entry\'s rho per token, the same as private prediction\'s format 1', () => {
    const cost = mechanismReleaseCost(PRIVATE, 1 / 120000);
    const before = releaseCost(tokenCostParameters(PRIVATE as PrivatePredictionParameters), 40, 1 / 120000);
    expect(cost).toMatchObject({ version: 2, mechanism: 'private-prediction', privateTokenCap: 40, rho: before.rho, epsilon: before.epsilon, rhoPerPrivateToken: before.rhoPerPrivateToken });
    expect(cost.parameters).toEqual(PRIVATE);
  });

  it('reads back what it stores, and refuses a cost that does not follow from its parameters', () => {
    const json = JSON.parse(JSON.stringify(mechanismReleaseCost(PRIVATE, 1e-6))) as Record<string, unknown>;
    expect(releaseCostFromJson(json)).toEqual(mechanismReleaseCost(PRIVATE, 1e-6));
    for (const [field, patch] of [
      ['rho', { rho: 1e-9 }],
      ['mechanism', { mechanism: 'public-only' }],
      ['parameters.clip', { parameters: { ...PRIVATE, clip: -1 } }],
      ['parameters.mechanism', { parameters: { ...PRIVATE, mechanism: 'clustered' } }],
      ['privateTokenCap', { privateTokenCap: 41 }],
    ] as const) {
      const read = () => releaseCostFromJson({ ...json, ...patch });
      expect(read).toThrow(PrivacyError);
      expect(read).toThrow(new RegExp(`^${field.replace('.', '\\.')} `));
    }
  });

  it('refuses an uncharged mechanism, which has no cost to state', () => {
    const reference = { mechanism: 'non-private-reference', expectedBatchSize: 1, temperature: 1, publicTemperature: 1, privateTokenCap: 1 };
    expect(() => mechanismReleaseCost(reference, 1e-6)).toThrow(/^mechanism 'non-private-reference' is not charged/);
  });
});
