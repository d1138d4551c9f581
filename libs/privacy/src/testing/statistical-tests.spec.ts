import { chiSquarePValue, chiSquareTest, erfc, kolmogorovSmirnovCritical, logGamma, normalCdf } from './statistical-tests';

// The statistical tests of the samplers are only as good as these reference functions.
describe('reference statistics', () => {
  it('logGamma matches factorials and Gamma(1/2)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 11);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 13);
  });

  it('chi-square p-values match tables', () => {
    expect(chiSquarePValue(3.841458820694124, 1)).toBeCloseTo(0.05, 10);
    expect(chiSquarePValue(18.307038053275146, 10)).toBeCloseTo(0.05, 10);
    expect(chiSquarePValue(124.3421134, 100)).toBeCloseTo(0.05, 7);
    expect(chiSquarePValue(0, 5)).toBe(1);
  });

  it('chiSquareTest pools cells with expected count below 5', () => {
    const result = chiSquareTest([50, 48, 1, 1], [0.5, 0.48, 0.01, 0.01]);
    expect(result.dof).toBe(2);
    expect(result.statistic).toBeCloseTo(0, 12);
  });

  it('erfc and the normal CDF match known values', () => {
    expect(erfc(0)).toBe(1);
    expect(Math.abs(erfc(1) / 0.15729920705028513 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-12);
    expect(Math.abs(erfc(6) / 2.1519736712498913e-17 - 1)).toBeLessThan(1e-12);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 13);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 13);
  });

  it('the KS critical value is the asymptotic formula', () => {
    expect(kolmogorovSmirnovCritical(10_000, 0.05)).toBeCloseTo(0.01358, 4);
  });
});
