import { epsilonFromRho, PrivacyError, releaseCostFromJson } from '@synthgate/privacy';
import { GENESIS_HASH, type LedgerEntryEntity, ledgerEntryHash } from '@synthgate/persistence';

export interface LedgerVerificationResult {
  readonly ok: boolean;
  readonly entries: number;
  /** The total rho recomputed from the entries, and the epsilon it spends at the dataset's delta. */
  readonly totalRho: number;
  readonly spentEpsilon: number;
  /** The first entry that does not verify, with why; null when the whole chain verifies. */
  readonly firstBroken: { readonly sequence: number; readonly reason: string } | null;
}

const relativelyEqual = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));

/** Why one entry's recorded cost does not justify its rho, or null when it does. */
function costProblem(entry: LedgerEntryEntity): string | null {
  const cost = (entry.parameters as { cost?: { generation?: unknown; labelCount?: { rho?: unknown } | null; totalRho?: unknown } }).cost;
  if (!cost) return 'has no recorded cost';
  if (entry.kind === 'REFUND') return null;
  let expected = 0;
  if (cost.generation !== null && cost.generation !== undefined) {
    try {
      expected += releaseCostFromJson(cost.generation).rho;
    } catch (error) {
      return `records a cost that does not follow from its parameters (${error instanceof PrivacyError ? error.message : String(error)})`;
    }
  }
  const countRho = cost.labelCount?.rho;
  if (countRho !== undefined && countRho !== null) {
    if (typeof countRho !== 'number' || countRho < 0) return 'records a bad label-count rho';
    expected += countRho;
  }
  return relativelyEqual(expected, entry.rho) ? null : `charges rho ${entry.rho} but its recorded cost is ${expected}`;
}

/**
 * Recomputes a dataset's ledger: every entry's hash over its canonical encoding, the link to the
 * previous entry, the sequence, the running total rho, the epsilon after each entry, and that each
 * debit's rho follows from its recorded mechanism parameters. Stops at the first broken entry.
 */
export function verifyLedgerEntries(entries: readonly LedgerEntryEntity[], delta: number): LedgerVerificationResult {
  let previousHash = GENESIS_HASH;
  let totalRho = 0;
  const broken = (sequence: number, reason: string): LedgerVerificationResult => ({
    ok: false,
    entries: entries.length,
    totalRho,
    spentEpsilon: epsilonFromRho(Math.max(0, totalRho), delta),
    firstBroken: { sequence, reason },
  });
  for (const [index, entry] of entries.entries()) {
    if (entry.sequence !== index + 1) return broken(entry.sequence, `is numbered ${entry.sequence} where ${index + 1} was expected`);
    if (entry.previousHash !== previousHash) return broken(entry.sequence, 'does not link to the previous entry');
    if (ledgerEntryHash(entry) !== entry.hash) return broken(entry.sequence, 'does not match its hash: it was changed after it was written');
    const problem = costProblem(entry);
    if (problem) return broken(entry.sequence, problem);
    totalRho += entry.rho;
    if (entry.totalRho !== totalRho) return broken(entry.sequence, `records a total rho of ${entry.totalRho} where the entries add up to ${totalRho}`);
    if (!relativelyEqual(entry.epsilonAfter, epsilonFromRho(totalRho, entry.delta, entry.conversion === 'closed' ? 'closed' : 'tight'))) {
      return broken(entry.sequence, `records epsilon ${entry.epsilonAfter}, which its total rho does not give`);
    }
    previousHash = entry.hash;
  }
  return { ok: true, entries: entries.length, totalRho, spentEpsilon: epsilonFromRho(Math.max(0, totalRho), delta), firstBroken: null };
}
