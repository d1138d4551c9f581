import { gaussianCountRho } from '@synthgate/privacy';
import { refundableRho } from './ledger.repository';

describe('refundableRho', () => {
  it('gives back the whole rho of a release without a noisy label count', () => {
    expect(refundableRho({ rho: 0.125, cost: { generation: { rho: 0.125 }, labelCount: null, rho: 0.125 } })).toBe(0.125);
    expect(refundableRho({ rho: 0, cost: { generation: null, labelCount: null, rho: 0 } })).toBe(0);
  });

  it("never gives back the label count's rho: the noisy counts were released at creation", () => {
    const countRho = gaussianCountRho(4); // 1 / (2 * 4^2) = 1/32
    expect(countRho).toBe(1 / 32);
    const release = { rho: 0.25 + countRho, cost: { generation: { rho: 0.25 }, labelCount: { sigma: 4, rho: countRho }, rho: 0.25 + countRho } };
    expect(refundableRho(release)).toBe(0.25);
  });

  it('300 create-and-cancel cycles of a DP_COUNT release leave 300 label counts charged, not 0', () => {
    const countRho = gaussianCountRho(2);
    const release = { rho: 0.5 + countRho, cost: { labelCount: { sigma: 2, rho: countRho } } };
    let spent = 0;
    for (let cycle = 0; cycle < 300; cycle++) spent += release.rho - refundableRho(release);
    expect(spent).toBeCloseTo(300 * countRho, 12);
  });
});
