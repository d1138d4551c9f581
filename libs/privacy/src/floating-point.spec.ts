import { epsilonFromRho, rhoForEpsilon } from './accountant';
import { floatingPointDelta, MIN_LOG_WEIGHT } from './floating-point';
import { PrivateTokenSampler } from './mechanisms/private-prediction/private-token-sampler';
import { MIN_NORMAL_DOUBLE } from './privacy.errors';
import { admitRelease } from './release-planner';
import { SeededRng } from './rng';

/**
 * Issue 13, item 6: with parameters the gateway accepts (s = 1e5, c = 1000, tau = 0.05) a token's
 * weight was subnormal with one record and exactly 0 without it, an infinite privacy loss. The
 * floor at MIN_LOG_WEIGHT keeps every weight a normal double, and the exact loss stays within
 * 2c/(s tau) on every token.
 */
describe('floating point of the exponential mechanism', () => {
  const clip = 1000;
  const expectedBatchSize = 1e5;
  const temperature = 0.05;
  const epsilonPerToken = (2 * clip) / (expectedBatchSize * temperature); // 0.4

  /** Rows over two tokens: `spread` rows prefer token 0 by far (token 1 clipped to -c), the rest are ties. */
  function batch(spread: number, ties: number): Float32Array {
    const logits = new Float32Array(2 * (spread + ties));
    for (let row = 0; row < spread; row++) logits[2 * row + 1] = -1e9;
    return logits;
  }

  function logProbabilities(logits: Float32Array): Float64Array {
    const sampler = new PrivateTokenSampler(2, { clip, expectedBatchSize, temperature, publicTemperature: 1 }, new SeededRng('fp'));
    const out = new Float64Array(2);
    sampler.privateLogProbabilities(logits, logits.length / 2, new Float32Array(2), out);
    return out;
  }

  it('reproduces the leak without the floor: a subnormal weight on one neighbour, exactly 0 on the other', () => {
    // Token 1's log-weight is -2 c k / (s tau) = -0.4 k for k spreading rows; the neighbours differ in one of them.
    const without = Math.exp((-2 * clip * 1862) / (expectedBatchSize * temperature));
    const withRecord = Math.exp((-2 * clip * 1863) / (expectedBatchSize * temperature));
    expect(without).toBeGreaterThan(0);
    expect(without).toBeLessThan(MIN_NORMAL_DOUBLE);
    expect(withRecord).toBe(0);
  });

  it('keeps every weight normal and the privacy loss within 2c/(s tau) on both sides of that pair', () => {
    for (const [larger, smaller] of [
      [batch(1863, 50), batch(1862, 50)], // remove a spreading record
      [batch(1862, 51), batch(1862, 50)], // remove a tie
      [batch(40_000, 0), batch(39_999, 0)], // far beyond: log-weights of -16000
    ] as const) {
      const p = logProbabilities(larger);
      const q = logProbabilities(smaller);
      for (let token = 0; token < 2; token++) {
        expect(Number.isFinite(p[token]!)).toBe(true);
        expect(Math.exp(p[token]!)).toBeGreaterThanOrEqual(Math.exp(MIN_LOG_WEIGHT) / 2);
        expect(Math.abs(p[token]! - q[token]!)).toBeLessThanOrEqual(epsilonPerToken * (1 + 1e-12));
      }
      // Bounded range: the log ratios of all tokens lie in one interval of width 2c/(s tau).
      const ratios = [p[0]! - q[0]!, p[1]! - q[1]!];
      expect(Math.max(...ratios) - Math.min(...ratios)).toBeLessThanOrEqual(epsilonPerToken * (1 + 1e-12));
    }
  });

  it('leaves ordinary weights untouched: the floor only acts below e^-700', () => {
    const logits = batch(3, 5);
    const p = logProbabilities(logits);
    // Token 1's exact log-odds: -2 c 3 / (s tau) = -1.2, well inside the range.
    expect(p[1]! - p[0]!).toBeCloseTo(-1.2, 12);
  });

  it('states the delta that inversion sampling adds: r (1 + e^(2c/(s tau))) V 2^-52', () => {
    const delta = floatingPointDelta({ vocabSize: 4096, privateTokenCap: 64, clip: 10, expectedBatchSize: 255, temperature: 2 });
    expect(delta).toBe(64 * (1 + Math.exp(20 / 510)) * 4096 * 2 ** -52);
    expect(delta).toBeCloseTo(1.1874e-10, 13);
    expect(floatingPointDelta({ vocabSize: 4096, privateTokenCap: 0, clip: 10, expectedBatchSize: 255, temperature: 2 })).toBe(0);
  });

  it.each([
    ['delta 5e-324', () => epsilonFromRho(0.1, 5e-324), /^delta must be at least 2.2250738585072014e-308/],
    ['delta 1e-310', () => rhoForEpsilon(1, 1e-310), /^delta must be at least/],
    ['epsilon 5e-324', () => rhoForEpsilon(5e-324, 1e-6), /^epsilon must be 0 or at least 2.2250738585072014e-308/],
    ['budget epsilon 5e-324', () => admitRelease({ epsilon: 5e-324, delta: 1e-6 }, 0, 0), /^budget.epsilon must be 0 or at least/],
    ['budget delta 5e-324', () => admitRelease({ epsilon: 1, delta: 5e-324 }, 0, 0), /^budget.delta must be at least/],
  ])('refuses a subnormal %s with INVALID_PRIVACY_PARAMETER', (_, call, message) => {
    expect(call).toThrow(message);
    expect(call).toThrow(expect.objectContaining({ code: 'INVALID_PRIVACY_PARAMETER' }) as Error);
  });

  it('still accepts the smallest normal delta and epsilon 0', () => {
    expect(epsilonFromRho(0.1, MIN_NORMAL_DOUBLE)).toBeGreaterThan(0);
    expect(rhoForEpsilon(0, 1e-6)).toBe(0);
  });
});
