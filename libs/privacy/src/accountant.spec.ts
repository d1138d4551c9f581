import {
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
import { PrivacyError } from './privacy.errors';
import { normalCdf } from './testing/statistical-tests';

const RHOS = [1e-12, 1e-9, 1e-6, 1e-4, 9.611688e-4, 0.01, 0.1, 0.17, 0.5, 1, 3, 10, 100, 1e4];
const DELTAS = [1e-15, 1e-10, 1e-6, 1 / 120000, 1e-3, 0.05, 0.5];

/**
 * Independent reference for the CKS conversion, written in the paper's alpha form: a log-spaced
 * scan of alpha - 1 over [1e-8, 1e12] followed by golden-section refinement around the best point.
 */
function referenceTightEpsilon(rho: number, delta: number): number {
  const at = (alpha: number): number => alpha * rho + Math.log(1 - 1 / alpha) - (Math.log(alpha) + Math.log(delta)) / (alpha - 1);
  let best = Infinity;
  let bestLog = 0;
  for (let e = -8; e <= 12; e += 0.01) {
    const value = at(1 + 10 ** e);
    if (value < best) {
      best = value;
      bestLog = e;
    }
  }
  let lo = bestLog - 0.01;
  let hi = bestLog + 0.01;
  const golden = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200; i++) {
    const a = hi - golden * (hi - lo);
    const b = lo + golden * (hi - lo);
    if (at(1 + 10 ** a) < at(1 + 10 ** b)) hi = b;
    else lo = a;
  }
  return Math.max(0, Math.min(best, at(1 + 10 ** ((lo + hi) / 2))));
}

/**
 * The exact privacy profile of the Gaussian mechanism with sensitivity 1 and noise sigma, which is
 * exactly rho-zCDP for rho = 1 / (2 sigma^2): delta(epsilon) = Phi(mu/2 - epsilon/mu) - e^epsilon Phi(-mu/2 - epsilon/mu),
 * mu = 1/sigma (Balle and Wang 2018). Any sound zCDP conversion must give an epsilon at which this is <= delta.
 */
function gaussianDelta(rho: number, epsilon: number): number {
  const mu = Math.sqrt(2 * rho);
  return normalCdf(mu / 2 - epsilon / mu) - Math.exp(epsilon) * normalCdf(-mu / 2 - epsilon / mu);
}

describe('per-token rho (DESIGN.md section 5)', () => {
  it('is 9.611688e-4 for c 10, s 255, tau 2, sigma 0.2', () => {
    const rho = rhoPerPrivateToken({ clip: 10, expectedBatchSize: 255, temperature: 2, svtSigma: 0.2 });
    expect(rho).toBeCloseTo(9.611688e-4, 10);
    expect(rho).toBeCloseTo(100 / (2 * 255 ** 2 * 4) + 2 / (255 * 0.2) ** 2, 17);
  });

  it('drops the sparse-vector term when the drafter is off', () => {
    const params = { clip: 10, expectedBatchSize: 255, temperature: 2 };
    expect(rhoPerPrivateToken(params)).toBe(exponentialMechanismRho(10, 255, 2));
    expect(rhoPerPrivateToken({ ...params, svtSigma: null })).toBe(exponentialMechanismRho(10, 255, 2));
    expect(exponentialMechanismRho(10, 255, 2)).toBeCloseTo(1.9223375624759708e-4, 17);
    expect(sparseVectorRho(255, 0.2)).toBeCloseTo(2 / 2601, 17);
  });

  it('is the bounded-range cost eta^2 / 8 with eta = 2c / (s tau)', () => {
    const eta = (2 * 3) / (7 * 0.5);
    expect(exponentialMechanismRho(3, 7, 0.5)).toBeCloseTo((eta * eta) / 8, 15);
  });

  it('refuses bad parameters, naming them', () => {
    expect(() => rhoPerPrivateToken({ clip: 0, expectedBatchSize: 255, temperature: 2 })).toThrow(/^clip /);
    expect(() => rhoPerPrivateToken({ clip: 1, expectedBatchSize: -1, temperature: 2 })).toThrow(/^expectedBatchSize /);
    expect(() => rhoPerPrivateToken({ clip: 1, expectedBatchSize: 1, temperature: Number.NaN })).toThrow(/^temperature /);
    expect(() => rhoPerPrivateToken({ clip: 1, expectedBatchSize: 1, temperature: 1, svtSigma: 0 })).toThrow(/^svtSigma /);
  });
});

describe('composition', () => {
  it('adds rhos, accurately and in a fixed order', () => {
    expect(composeRho([])).toBe(0);
    expect(composeRho([0.1, 0.2, 0.3])).toBe(0.6); // naive 0.1 + 0.2 + 0.3 is 0.6000000000000001
    expect(composeRho([1, ...new Array<number>(1000).fill(1e-17)])).toBe(1 + 1e-14);
    expect(() => composeRho([0.1, -0.1])).toThrow(/^rhos\[1\] /);
  });
});

describe('epsilonFromRho', () => {
  it('closed form is rho + 2 sqrt(rho ln(1/delta))', () => {
    expect(epsilonFromRho(0.5, 1e-6, 'closed')).toBeCloseTo(0.5 + 2 * Math.sqrt(0.5 * Math.log(1e6)), 14);
  });

  it('tight matches an independent alpha-form minimisation to 1e-9 relative', () => {
    for (const rho of RHOS) {
      for (const delta of DELTAS) {
        const reference = referenceTightEpsilon(rho, delta);
        const tight = epsilonFromRho(rho, delta);
        expect(Math.abs(tight - reference)).toBeLessThanOrEqual(1e-9 * Math.max(reference, 1e-12));
      }
    }
  });

  it('tight <= closed for every tested (rho, delta), and both are monotone in rho', () => {
    for (const delta of DELTAS) {
      let previousTight = 0;
      let previousClosed = 0;
      for (let e = -14; e <= 4; e += 0.05) {
        const rho = 10 ** e;
        const tight = epsilonFromRho(rho, delta, 'tight');
        const closed = epsilonFromRho(rho, delta, 'closed');
        expect(tight).toBeLessThanOrEqual(closed);
        expect(tight).toBeGreaterThanOrEqual(previousTight);
        expect(closed).toBeGreaterThanOrEqual(previousClosed);
        previousTight = tight;
        previousClosed = closed;
      }
    }
  });

  it('is sound: never below the exact epsilon of the Gaussian mechanism with the same rho', () => {
    for (const rho of [1e-4, 1e-3, 0.01, 0.1, 0.5, 1, 4]) {
      for (const delta of [1e-10, 1e-6, 1 / 120000, 1e-3]) {
        const epsilon = epsilonFromRho(rho, delta);
        expect(gaussianDelta(rho, epsilon)).toBeLessThanOrEqual(delta * (1 + 1e-9));
      }
    }
  });

  it('is 0 at rho 0, infinite at rho infinity, and decreasing in delta', () => {
    expect(epsilonFromRho(0, 1e-6)).toBe(0);
    expect(epsilonFromRho(Infinity, 1e-6)).toBe(Infinity);
    expect(epsilonFromRho(0.1, 1e-9)).toBeGreaterThan(epsilonFromRho(0.1, 1e-6));
  });

  it('refuses delta outside (0, 1), negative rho and unknown conversions', () => {
    for (const delta of [0, 1, -0.1, 2, Number.NaN]) expect(() => epsilonFromRho(0.1, delta)).toThrow(/^delta must be in \(0, 1\)/);
    expect(() => epsilonFromRho(-1, 1e-6)).toThrow(PrivacyError);
    expect(() => epsilonFromRho(Number.NaN, 1e-6)).toThrow(/^rho /);
    expect(() => epsilonFromRho(0.1, 1e-6, 'loose' as 'tight')).toThrow(/^conversion /);
  });
});

describe('deltaFromRho', () => {
  it('inverts epsilonFromRho for both conversions', () => {
    for (const rho of [1e-6, 1e-3, 0.1, 1, 10]) {
      for (const delta of [1e-12, 1e-6, 1e-3, 0.1]) {
        for (const conversion of ['tight', 'closed'] as const) {
          const epsilon = epsilonFromRho(rho, delta, conversion);
          // epsilon is clamped at 0 when even (0, delta')-DP holds for some delta' < delta.
          if (epsilon === 0) expect(deltaFromRho(rho, 0, conversion)).toBeLessThanOrEqual(delta);
          else expect(Math.abs(deltaFromRho(rho, epsilon, conversion) / delta - 1)).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('is 0 at rho 0 and at most 1', () => {
    expect(deltaFromRho(0, 1)).toBe(0);
    expect(deltaFromRho(100, 0)).toBeLessThanOrEqual(1);
    expect(deltaFromRho(1e-300, 1)).toBe(0);
  });
});

describe('rhoForEpsilon', () => {
  it('is the largest rho whose epsilon fits, for both conversions', () => {
    for (const epsilon of [1e-6, 0.01, 0.5, 1, 3, 8, 50]) {
      for (const delta of DELTAS) {
        for (const conversion of ['tight', 'closed'] as const) {
          const rho = rhoForEpsilon(epsilon, delta, conversion);
          expect(epsilonFromRho(rho, delta, conversion)).toBeLessThanOrEqual(epsilon);
          expect(epsilonFromRho(rho * (1 + 1e-12), delta, conversion)).toBeGreaterThan(epsilon * (1 - 1e-11));
          expect(epsilonFromRho(rho * (1 + 1e-9), delta, conversion)).toBeGreaterThan(epsilon);
        }
        expect(rhoForEpsilon(epsilon, delta, 'tight')).toBeGreaterThanOrEqual(rhoForEpsilon(epsilon, delta, 'closed'));
      }
    }
  });

  it('closed form is (sqrt(ln(1/delta) + epsilon) - sqrt(ln(1/delta)))^2', () => {
    const log = Math.log(120000);
    expect(rhoForEpsilon(3, 1 / 120000, 'closed')).toBeCloseTo((Math.sqrt(log + 3) - Math.sqrt(log)) ** 2, 14);
  });

  it('is 0 at epsilon 0 and refuses negative epsilon', () => {
    expect(rhoForEpsilon(0, 1e-6)).toBe(0);
    expect(() => rhoForEpsilon(-1, 1e-6)).toThrow(/^epsilon /);
  });
});

describe('Gaussian mechanism', () => {
  it('costs sensitivity^2 / (2 sigma^2), and gaussianSigmaForRho inverts it without exceeding rho', () => {
    expect(gaussianMechanismRho(10)).toBeCloseTo(0.005, 15);
    expect(gaussianMechanismRho(2, 3)).toBeCloseTo(9 / 8, 15);
    for (const rho of [1e-5, 0.003, 0.1, 2]) {
      const sigma = gaussianSigmaForRho(rho);
      expect(gaussianMechanismRho(sigma)).toBeLessThanOrEqual(rho);
      expect(gaussianMechanismRho(sigma)).toBeCloseTo(rho, 12);
    }
  });
});
