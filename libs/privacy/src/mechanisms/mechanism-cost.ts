import { type Conversion, epsilonFromRho } from '../accountant';
import { PrivacyError, requireDelta, requireInteger } from '../privacy.errors';
import { type MechanismParametersBase, type MechanismRegistry } from './mechanism';
import { mechanismRegistry } from './registry';

/**
 * The cost of a release of any registered mechanism, derived from its parameters through its
 * registry entry: format version 2 of a stored release cost. It records the mechanism's whole
 * parameters, so the cost can be re-derived ({@link mechanismReleaseCostFromJson}). Private
 * prediction keeps format 1 (`ReleaseCost`, release-planner.ts), so costs stored before stay
 * byte for byte what they were; a second charged mechanism stores this one.
 */
export interface MechanismReleaseCost extends TokenCapCost {
  readonly version: 2;
  readonly mechanism: string;
  readonly parameters: MechanismParametersBase;
}

/** What every stored release cost holds: `r` private tokens at a rho each, and its epsilon. */
export interface TokenCapCost {
  /** `r`, the cap on private tokens per synthetic example. */
  readonly privateTokenCap: number;
  readonly rhoPerPrivateToken: number;
  /** `privateTokenCap * rhoPerPrivateToken`. */
  readonly rho: number;
  /** This release alone at `delta` under `conversion`, for display. */
  readonly epsilon: number;
  readonly delta: number;
  readonly conversion: Conversion;
}

/**
 * The cost of a release with these mechanism parameters: `r * rhoPerPrivateToken` by the
 * mechanism's registry entry, at `delta`. Refuses (`INVALID_PRIVACY_PARAMETER` on `mechanism`) a
 * mechanism that is not charged (it has no finite cost to state).
 */
export function mechanismReleaseCost(
  parameters: MechanismParametersBase,
  delta: number,
  conversion: Conversion = 'tight',
  registry: MechanismRegistry = mechanismRegistry,
): MechanismReleaseCost {
  const entry = registry.of(parameters);
  const checked = entry.parse(parameters);
  requireDelta('delta', delta);
  const privateTokenCap = requireInteger('privateTokenCap', checked.privateTokenCap, 0);
  const perToken = entry.rhoPerPrivateToken(checked);
  if (!entry.charged || !Number.isFinite(perToken)) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', 'mechanism', `'${entry.name}' is not charged: it has no privacy cost to state`);
  }
  return Object.freeze({ version: 2, mechanism: entry.name, parameters: checked, ...tokenCapCost(privateTokenCap, perToken, delta, conversion) });
}

/**
 * The fields every stored cost format shares, in their stored order (a cost's JSON stays byte for
 * byte what it was): `r` private tokens at `rhoPerPrivateToken` each, and the epsilon of their rho.
 */
export function tokenCapCost(privateTokenCap: number, rhoPerPrivateToken: number, delta: number, conversion: Conversion): TokenCapCost {
  const rho = privateTokenCap * rhoPerPrivateToken;
  return { privateTokenCap, rhoPerPrivateToken, rho, epsilon: epsilonFromRho(rho, delta, conversion), delta, conversion };
}

function agrees(stored: unknown, recomputed: number): boolean {
  if (typeof stored !== 'number') return false;
  if (stored === recomputed) return true;
  return Math.abs(stored - recomputed) <= 1e-12 * Math.max(Math.abs(stored), Math.abs(recomputed));
}

/**
 * Reads a stored {@link MechanismReleaseCost} back and re-derives it from its own parameters through
 * the registry: a cost that names another mechanism than its parameters, or whose rho or epsilon
 * does not follow from them (within 1e-12 relative), is refused with `INVALID_RELEASE_COST`.
 */
export function mechanismReleaseCostFromJson(value: unknown, registry: MechanismRegistry = mechanismRegistry): MechanismReleaseCost {
  const fail = (field: string, rule: string): never => {
    throw new PrivacyError('INVALID_RELEASE_COST', field, rule);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('releaseCost', 'must be an object');
  const stored = value as Record<string, unknown>;
  if (stored.version !== 2) fail('version', 'must be 2');
  const parameters = stored.parameters;
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return fail('parameters', 'must be an object');
  const conversion = stored.conversion;
  if (conversion !== 'tight' && conversion !== 'closed') return fail('conversion', "must be 'tight' or 'closed'");
  let recomputed: MechanismReleaseCost;
  try {
    recomputed = mechanismReleaseCost(parameters as MechanismParametersBase, stored.delta as number, conversion, registry);
  } catch (error) {
    if (error instanceof PrivacyError) return fail(`parameters.${error.field}`, error.message.slice(error.field.length + 1));
    throw error;
  }
  if (stored.mechanism !== recomputed.mechanism) fail('mechanism', `must be '${recomputed.mechanism}', the mechanism of its parameters`);
  for (const field of ['privateTokenCap', 'rhoPerPrivateToken', 'rho', 'epsilon'] as const) {
    if (!agrees(stored[field], recomputed[field])) fail(field, `does not follow from the parameters (stored ${String(stored[field])}, recomputed ${recomputed[field]})`);
  }
  return recomputed;
}
