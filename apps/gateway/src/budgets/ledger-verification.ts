import { dpKMeansRho, epsilonFromRho, PrivacyError, releaseCostFromJson } from '@synthgate/privacy';
import { type Batching, GENESIS_HASH, type LedgerEntryEntity, ledgerEntryHash, type LedgerHeadEntity, ledgerHeadProblem, type LedgerReleaseView, refundableRho } from '@synthgate/persistence';

export interface LedgerVerificationResult {
  readonly ok: boolean;
  readonly entries: number;
  /** The total rho recomputed from the entries, and the epsilon it spends at the dataset's delta. */
  readonly totalRho: number;
  readonly spentEpsilon: number;
  /**
   * The first entry that does not verify, with why; null when the whole ledger verifies. Sequence
   * 0 names the ledger as a whole (a charged release it has no debit for).
   */
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
  // CLUSTERED batching: the private k-means' rho must follow from the release's stored parameters.
  const clustering = (cost as { clustering?: { rho?: unknown } | null }).clustering;
  if (clustering !== undefined && clustering !== null) {
    const batching = (entry.parameters as { parameters?: { batching?: Batching } }).parameters?.batching;
    if (batching?.mode !== 'CLUSTERED') return 'records a clustering cost but no CLUSTERED batching';
    let recomputed: number;
    try {
      // libs/privacy's rho of the private k-means, straight from the stored parameters (as the release priced it).
      recomputed = dpKMeansRho({ clusters: batching.clusters, iterations: batching.iterations, dimension: batching.dimension, sumSigma: batching.sumSigma, countSigma: batching.lloydCountSigma });
    } catch (error) {
      return `records clustering parameters that do not price (${error instanceof PrivacyError ? error.message : String(error)})`;
    }
    if (typeof clustering.rho !== 'number' || !relativelyEqual(clustering.rho, recomputed)) return `records a clustering rho ${String(clustering.rho)} that does not follow from its parameters (${recomputed})`;
    expected += recomputed;
  }
  return relativelyEqual(expected, entry.rho) ? null : `charges rho ${entry.rho} but its recorded cost is ${expected}`;
}

/** Everything a dataset's ledger is checked against. */
export interface LedgerEvidence {
  readonly entries: readonly LedgerEntryEntity[];
  /** The head anchor kept outside the ledger table (null before the first entry). */
  readonly anchor: LedgerHeadEntity | null;
  /** The dataset's releases: each charged one needs one debit, a refund needs a refundable release. */
  readonly releases: readonly LedgerReleaseView[];
  readonly delta: number;
  /** The ledger key (outside the database). */
  readonly key: Buffer;
}

/** Why an entry does not match the release table, or null; `seen` holds the entries before it. */
function releaseProblem(entry: LedgerEntryEntity, release: LedgerReleaseView | undefined, seen: readonly LedgerEntryEntity[]): string | null {
  if (!entry.releaseId || !release) return `names release ${entry.releaseId ?? '(none)'}, which is not a release of this dataset`;
  const earlier = seen.filter((other) => other.releaseId === entry.releaseId);
  if (entry.kind === 'DEBIT') {
    if (release.mode === 'NON_PRIVATE_REFERENCE') return `debits release ${release.id}, a non-private reference that is never charged`;
    if (earlier.length > 0) return `debits release ${release.id} a second time`;
    if (!relativelyEqual(entry.rho, release.rho)) return `debits rho ${entry.rho} for release ${release.id}, which was charged ${release.rho}`;
    return null;
  }
  // No data-dependent refunds (DESIGN.md section 4): only a release cancelled or failed before its first batch.
  const debit = earlier.find((other) => other.kind === 'DEBIT');
  if (!debit) return `refunds release ${release.id}, which has no earlier debit`;
  if (earlier.some((other) => other.kind === 'REFUND')) return `refunds release ${release.id} a second time`;
  if (release.status !== 'CANCELLED' && release.status !== 'FAILED') return `refunds release ${release.id}, which is ${release.status} and so not refundable`;
  if (release.readRecords) return `refunds release ${release.id}, which read sensitive records`;
  // A refund gives back the debit less its noisy label count, which was released at creation (refundableRho).
  const refundable = refundableRho({ rho: debit.rho, cost: ((debit.parameters as { cost?: Record<string, unknown> }).cost ?? {}) });
  if (!relativelyEqual(-entry.rho, refundable)) return `refunds rho ${-entry.rho} for release ${release.id}, which was debited ${debit.rho} (refundable ${refundable})`;
  return null;
}

/**
 * Recomputes a dataset's ledger: every entry's keyed hash over its canonical encoding, the link
 * to the previous entry, the sequence, the running total rho, the epsilon after each entry, that
 * each debit's rho follows from its recorded mechanism parameters and matches its release, that
 * each refund matches a refundable release and appears once, that every charged release has its
 * debit, and that the newest entry is the head anchored outside the ledger table. Stops at the
 * first problem. Admission runs this under the dataset's row lock (release.service.ts).
 */
export function verifyLedgerEntries(evidence: LedgerEvidence): LedgerVerificationResult {
  const { entries, delta, key } = evidence;
  const releases = new Map(evidence.releases.map((release) => [release.id, release]));
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
    if (ledgerEntryHash(entry, key) !== entry.hash) return broken(entry.sequence, 'does not match its keyed hash: it was changed after it was written, or written without the ledger key');
    const problem = costProblem(entry) ?? releaseProblem(entry, entry.releaseId ? releases.get(entry.releaseId) : undefined, entries.slice(0, index));
    if (problem) return broken(entry.sequence, problem);
    totalRho += entry.rho;
    if (entry.totalRho !== totalRho) return broken(entry.sequence, `records a total rho of ${entry.totalRho} where the entries add up to ${totalRho}`);
    if (!relativelyEqual(entry.epsilonAfter, epsilonFromRho(totalRho, entry.delta, entry.conversion === 'closed' ? 'closed' : 'tight'))) {
      return broken(entry.sequence, `records epsilon ${entry.epsilonAfter}, which its total rho does not give`);
    }
    previousHash = entry.hash;
  }
  const head = entries.at(-1) ?? null;
  const anchorProblem = ledgerHeadProblem(head, evidence.anchor, key);
  if (anchorProblem) return broken(evidence.anchor?.sequence ?? head?.sequence ?? 0, anchorProblem);
  const debited = new Set(entries.filter((entry) => entry.kind === 'DEBIT').map((entry) => entry.releaseId));
  const unpaid = evidence.releases.find((release) => release.mode !== 'NON_PRIVATE_REFERENCE' && !debited.has(release.id));
  if (unpaid) return broken(0, `release ${unpaid.id} (${unpaid.status}) has no debit: its entry was removed`);
  return { ok: true, entries: entries.length, totalRho, spentEpsilon: epsilonFromRho(Math.max(0, totalRho), delta), firstBroken: null };
}
