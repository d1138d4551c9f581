/** Stable codes of the privacy library; the gateway maps each to `BAD_USER_INPUT`. */
export type PrivacyErrorCode = 'INVALID_PRIVACY_PARAMETER' | 'INVALID_LOGITS' | 'INVALID_RELEASE_COST';

/**
 * Thrown for any input the privacy library refuses. `field` names the offending parameter and the
 * message states the rule, so callers can surface it unchanged ("delta must be in (0, 1), got 2").
 */
export class PrivacyError extends Error {
  constructor(
    readonly code: PrivacyErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(`${field} ${message}`);
    this.name = 'PrivacyError';
  }
}

/**
 * The smallest positive normal double (2^-1022). Below it numbers are subnormal: they carry fewer
 * significant bits, and a privacy parameter that small (epsilon or delta of 5e-324, say) is a
 * mistake, not a budget.
 */
export const MIN_NORMAL_DOUBLE = 2.2250738585072014e-308;

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : `${typeof value} ${JSON.stringify(value) ?? String(value)}`;
}

/** Requires a finite number > 0 that is not subnormal (at least {@link MIN_NORMAL_DOUBLE}). */
export function requirePositive(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be a finite number > 0, got ${describe(value)}`);
  }
  if (value < MIN_NORMAL_DOUBLE) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be at least ${MIN_NORMAL_DOUBLE} (the smallest normal double; subnormal values are refused), got ${describe(value)}`);
  }
  return value;
}

/** Requires a finite number >= 0. */
export function requireNonNegative(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be a finite number >= 0, got ${describe(value)}`);
  }
  return value;
}

/** Requires an epsilon: a finite number >= 0, and 0 or at least {@link MIN_NORMAL_DOUBLE} (never subnormal). */
export function requireEpsilon(field: string, value: unknown): number {
  requireNonNegative(field, value);
  if ((value as number) > 0 && (value as number) < MIN_NORMAL_DOUBLE) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be 0 or at least ${MIN_NORMAL_DOUBLE} (the smallest normal double; subnormal values are refused), got ${describe(value)}`);
  }
  return value as number;
}

/** Requires a finite number (any sign). */
export function requireFinite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be a finite number, got ${describe(value)}`);
  }
  return value;
}

/** Requires a safe integer >= `min`. */
export function requireInteger(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

/** Requires delta strictly inside (0, 1): zCDP gives no guarantee at delta = 0, and delta >= 1 is vacuous. */
export function requireDelta(field: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be in (0, 1), got ${describe(value)}`);
  }
  if (value < MIN_NORMAL_DOUBLE) {
    throw new PrivacyError('INVALID_PRIVACY_PARAMETER', field, `must be at least ${MIN_NORMAL_DOUBLE} (the smallest normal double; subnormal values are refused), got ${describe(value)}`);
  }
  return value;
}
