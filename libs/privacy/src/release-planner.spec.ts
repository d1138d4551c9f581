import { type TokenCostParameters, composeRho, epsilonFromRho, rhoPerPrivateToken } from './accountant';
import { PrivacyError } from './privacy.errors';
import { admitRelease, maxPrivateTokens, planRelease, releaseCost, releaseCostFromJson } from './release-planner';
import { SeededRng } from './rng';

const DESIGN_PARAMS: TokenCostParameters = { clip: 10, expectedBatchSize: 255, temperature: 2, svtSigma: 0.2 };
const DESIGN_BUDGET = { epsilon: 3, delta: 1 / 120000 };

describe('planner: worked numbers of DESIGN.md section 5', () => {
  it('allows r = 177 private tokens with the closed-form conversion', () => {
    expect(maxPrivateTokens(DESIGN_PARAMS, DESIGN_BUDGET, { conversion: 'closed' })).toBe(177);
    expect(releaseCost(DESIGN_PARAMS, 177, DESIGN_BUDGET.delta, 'closed').epsilon).toBeLessThanOrEqual(3);
    expect(releaseCost(DESIGN_PARAMS, 178, DESIGN_BUDGET.delta, 'closed').epsilon).toBeGreaterThan(3);
  });

  it('allows r = 229 private tokens with the tight conversion (the default)', () => {
    expect(maxPrivateTokens(DESIGN_PARAMS, DESIGN_BUDGET)).toBe(229);
    const plan = planRelease(DESIGN_PARAMS, DESIGN_BUDGET);
    expect(plan).toEqual({
      version: 1,
      mechanism: 'private-prediction',
      parameters: { clip: 10, expectedBatchSize: 255, temperature: 2, svtSigma: 0.2 },
      privateTokenCap: 229,
      rhoPerPrivateToken: rhoPerPrivateToken(DESIGN_PARAMS),
      rho: 229 * rhoPerPrivateToken(DESIGN_PARAMS),
      epsilon: epsilonFromRho(229 * rhoPerPrivateToken(DESIGN_PARAMS), 1 / 120000),
      delta: 1 / 120000,
      conversion: 'tight',
    });
    expect(plan.epsilon).toBeCloseTo(2.99643, 5);
    expect(releaseCost(DESIGN_PARAMS, 230, DESIGN_BUDGET.delta).epsilon).toBeGreaterThan(3);
    expect(Object.isFrozen(plan) && Object.isFrozen(plan.parameters)).toBe(true);
  });
});

describe('planner: plan and cost are inverses', () => {
  it('for random parameters, budgets and conversions', () => {
    const rng = new SeededRng('planner-inverse');
    const between = (lo: number, hi: number): number => lo * (hi / lo) ** rng.nextDouble();
    for (let i = 0; i < 300; i++) {
      const params: TokenCostParameters = {
        clip: between(0.5, 20),
        expectedBatchSize: Math.round(between(1, 2000)),
        temperature: between(0.3, 4),
        svtSigma: rng.nextDouble() < 0.3 ? null : between(0.02, 2),
      };
      const budget = { epsilon: between(0.05, 20), delta: between(1e-12, 1e-2) };
      const conversion = rng.nextDouble() < 0.5 ? 'tight' : 'closed';
      const r = maxPrivateTokens(params, budget, { conversion });
      // r fits, r + 1 does not.
      expect(releaseCost(params, r, budget.delta, conversion).epsilon).toBeLessThanOrEqual(budget.epsilon);
      expect(releaseCost(params, r + 1, budget.delta, conversion).epsilon).toBeGreaterThan(budget.epsilon);
      // Planning at exactly the epsilon of r gives r back.
      if (r > 0) {
        const epsilonOfR = releaseCost(params, r, budget.delta, conversion).epsilon;
        expect(maxPrivateTokens(params, { epsilon: epsilonOfR, delta: budget.delta }, { conversion })).toBe(r);
      }
      // The tight conversion never allows fewer tokens than the closed form.
      if (conversion === 'tight') expect(r).toBeGreaterThanOrEqual(maxPrivateTokens(params, budget, { conversion: 'closed' }));
    }
  });
});

describe('planner: remaining budget and admission', () => {
  it('plans against what is left and agrees with admitRelease to the last token', () => {
    const first = planRelease(DESIGN_PARAMS, { epsilon: 1, delta: DESIGN_BUDGET.delta });
    const spentRho = composeRho([first.rho]);
    const r = maxPrivateTokens(DESIGN_PARAMS, DESIGN_BUDGET, { spentRho });
    const perToken = rhoPerPrivateToken(DESIGN_PARAMS);
    expect(admitRelease(DESIGN_BUDGET, spentRho, r * perToken).admitted).toBe(true);
    expect(admitRelease(DESIGN_BUDGET, spentRho, (r + 1) * perToken).admitted).toBe(false);
    // Remaining budget is strictly less than a fresh one, but the two releases together fit.
    expect(r).toBeLessThan(229);
    expect(first.privateTokenCap + r).toBeLessThanOrEqual(229);
    const decision = admitRelease(DESIGN_BUDGET, spentRho, r * perToken);
    expect(decision.epsilonAfter).toBeLessThanOrEqual(3);
    expect(decision.epsilonBefore).toBe(epsilonFromRho(spentRho, DESIGN_BUDGET.delta));
    expect(decision.remainingEpsilon).toBeCloseTo(3 - decision.epsilonAfter, 15);
  });

  it('returns 0 tokens when the budget is spent or too small for one token', () => {
    expect(maxPrivateTokens(DESIGN_PARAMS, DESIGN_BUDGET, { spentRho: 10 })).toBe(0);
    expect(maxPrivateTokens(DESIGN_PARAMS, { epsilon: 1e-4, delta: 1e-6 })).toBe(0);
    expect(planRelease(DESIGN_PARAMS, { epsilon: 1e-4, delta: 1e-6 }).rho).toBe(0);
    expect(admitRelease(DESIGN_BUDGET, 10, 0).admitted).toBe(false);
  });

  it('charges the drafter only when it is on', () => {
    const withoutDrafter = maxPrivateTokens({ ...DESIGN_PARAMS, svtSigma: null }, DESIGN_BUDGET);
    expect(withoutDrafter).toBeGreaterThan(229);
    expect(releaseCost({ ...DESIGN_PARAMS, svtSigma: null }, 10, 1e-6).parameters.svtSigma).toBeNull();
  });

  it('refuses bad inputs, naming the field', () => {
    expect(() => releaseCost(DESIGN_PARAMS, -1, 1e-6)).toThrow(/^privateTokenCap /);
    expect(() => releaseCost(DESIGN_PARAMS, 1.5, 1e-6)).toThrow(/^privateTokenCap /);
    expect(() => releaseCost(DESIGN_PARAMS, 1, 1)).toThrow(/^delta /);
    expect(() => maxPrivateTokens(DESIGN_PARAMS, { epsilon: -1, delta: 1e-6 })).toThrow(/^budget.epsilon /);
    expect(() => maxPrivateTokens(DESIGN_PARAMS, { epsilon: 1, delta: 0 })).toThrow(/^budget.delta /);
    expect(() => maxPrivateTokens(DESIGN_PARAMS, DESIGN_BUDGET, { spentRho: -1 })).toThrow(/^spentRho /);
  });
});

describe('ReleaseCost as a ledger value', () => {
  it('round-trips through JSON', () => {
    const cost = planRelease(DESIGN_PARAMS, DESIGN_BUDGET);
    expect(releaseCostFromJson(JSON.parse(JSON.stringify(cost)))).toEqual(cost);
    const closed = releaseCost({ ...DESIGN_PARAMS, svtSigma: null }, 12, 1e-7, 'closed');
    expect(releaseCostFromJson(JSON.parse(JSON.stringify(closed)))).toEqual(closed);
  });

  it('refuses a stored cost that does not follow from its own parameters', () => {
    const json = JSON.parse(JSON.stringify(planRelease(DESIGN_PARAMS, DESIGN_BUDGET))) as Record<string, unknown>;
    const expectRefused = (patch: Record<string, unknown>, field: RegExp): void => {
      let error: unknown;
      try {
        releaseCostFromJson({ ...json, ...patch });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(PrivacyError);
      expect((error as PrivacyError).code).toBe('INVALID_RELEASE_COST');
      expect((error as PrivacyError).message).toMatch(field);
    };
    expectRefused({ rho: 0.01 }, /^rho does not follow/);
    expectRefused({ epsilon: 1 }, /^epsilon does not follow/);
    expectRefused({ privateTokenCap: 230 }, /^rhoPerPrivateToken|^rho /);
    expectRefused({ parameters: { ...(json.parameters as object), clip: 5 } }, /does not follow/);
    expectRefused({ parameters: { ...(json.parameters as object), clip: -5 } }, /^parameters.clip /);
    expectRefused({ delta: 2 }, /^delta /);
    expectRefused({ version: 3 }, /^version must be 1 or 2/);
    // Read as format 2 (any mechanism), a format-1 body names no mechanism in its parameters.
    expectRefused({ version: 2 }, /^parameters\.mechanism /);
    expectRefused({ conversion: 'loose' }, /^conversion /);
    expect(() => releaseCostFromJson(null)).toThrow(/^releaseCost must be an object/);
  });
});
