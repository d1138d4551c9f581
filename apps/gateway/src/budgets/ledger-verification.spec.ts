import { createHash, randomBytes } from 'node:crypto';
import {
  canonicalJson,
  GENESIS_HASH,
  type LedgerEntryEntity,
  ledgerEntryHash,
  type LedgerHeadEntity,
  ledgerHeadMac,
  type LedgerReleaseView,
} from '@synthgate/persistence';
import { epsilonFromRho, releaseCost } from '@synthgate/privacy';
import { type LedgerEvidence, verifyLedgerEntries } from './ledger-verification';

const DATASET = '00000000-0000-4000-8000-000000000001';
const DELTA = 1e-6;
const key = randomBytes(32);
const releaseId = (n: number) => `00000000-0000-4000-8000-${String(100 + n).padStart(12, '0')}`;

interface Spec {
  readonly kind: 'DEBIT' | 'REFUND';
  readonly release: number;
  readonly rho: number;
  /** The part of a debit that paid for a noisy label count (never refunded). */
  readonly countRho?: number;
}

/**
 * A debit's recorded cost: generation only (c 1, s 10, tau 1: rho 0.005 a private token), so all of
 * it is refundable; a refund records the release's cost as LedgerRepository.refundRelease does.
 */
function costOf(spec: Spec): Record<string, unknown> {
  const countRho = spec.countRho ?? 0;
  const tokens = Math.round((Math.abs(spec.rho) - countRho) / 0.005);
  return { generation: releaseCost({ clip: 1, expectedBatchSize: 10, temperature: 1, svtSigma: null }, tokens, DELTA), labelCount: countRho > 0 ? { rho: countRho } : null };
}

/** Chains entries the way LedgerRepository.append does, with `hash` (the real key unless told). */
function chain(specs: readonly Spec[], hash: (entry: Omit<LedgerEntryEntity, 'id' | 'hash'>) => string = (entry) => ledgerEntryHash(entry, key)): LedgerEntryEntity[] {
  let previousHash = GENESIS_HASH;
  let totalRho = 0;
  return specs.map((spec, index) => {
    totalRho = Math.max(0, totalRho + spec.rho);
    const fields = {
      datasetId: DATASET,
      sequence: index + 1,
      releaseId: releaseId(spec.release),
      kind: spec.kind,
      rho: spec.rho,
      totalRho,
      epsilonAfter: epsilonFromRho(totalRho, DELTA, 'tight'),
      delta: DELTA,
      conversion: 'tight',
      parameters: { releaseId: releaseId(spec.release), cost: costOf(spec) },
      actorUserId: null,
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, index)),
      previousHash,
    };
    const entry = { ...fields, id: String(index + 1), hash: hash(fields) } as LedgerEntryEntity;
    previousHash = entry.hash;
    return entry;
  });
}

function anchorOf(entries: readonly LedgerEntryEntity[], macKey = key): LedgerHeadEntity | null {
  const head = entries.at(-1);
  if (!head) return null;
  const fields = { datasetId: DATASET, sequence: head.sequence, hash: head.hash, totalRho: head.totalRho };
  return { ...fields, mac: ledgerHeadMac(fields, macKey), updatedAt: new Date() };
}

const release = (n: number, status: LedgerReleaseView['status'] = 'SUCCEEDED', rho = 0.01, readRecords = status !== 'QUEUED'): LedgerReleaseView => ({
  id: releaseId(n),
  status,
  mode: 'PRIVATE',
  rho,
  readRecords,
});

function verify(evidence: Partial<LedgerEvidence> & { entries: readonly LedgerEntryEntity[] }) {
  return verifyLedgerEntries({ anchor: anchorOf(evidence.entries), releases: [release(1), release(2), release(3)], delta: DELTA, key, ...evidence });
}

const debits: Spec[] = [1, 2, 3].map((n) => ({ kind: 'DEBIT', release: n, rho: 0.01 }));

describe('verifyLedgerEntries: the keyed chain, its anchor and the release cross-check', () => {
  it('accepts an intact ledger and recomputes its total', () => {
    const result = verify({ entries: chain(debits) });
    expect(result).toMatchObject({ ok: true, entries: 3, firstBroken: null });
    expect(result.totalRho).toBeCloseTo(0.03, 15);
    expect(verify({ entries: [], anchor: null, releases: [] })).toMatchObject({ ok: true, entries: 0 });
  });

  it('catches a deleted head: the anchor still names it', () => {
    const entries = chain(debits);
    const result = verify({ entries: entries.slice(0, 2), anchor: anchorOf(entries) });
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toEqual({ sequence: 3, reason: expect.stringMatching(/ends at entry 2 but its anchor records 3 entries: entries were deleted/) });
  });

  it('catches a deleted head whose anchor was rolled back to an earlier valid one: its release has no debit', () => {
    const entries = chain(debits);
    const result = verify({ entries: entries.slice(0, 2), anchor: anchorOf(entries.slice(0, 2)) });
    expect(result.firstBroken).toEqual({ sequence: 0, reason: `release ${releaseId(3)} (SUCCEEDED) has no debit: its entry was removed` });
  });

  it('catches a whole ledger deleted, and a missing or forged anchor', () => {
    const entries = chain(debits);
    expect(verify({ entries: [], anchor: anchorOf(entries) }).firstBroken?.reason).toMatch(/the ledger is empty but its anchor records 3 entries/);
    expect(verify({ entries, anchor: null }).firstBroken?.reason).toMatch(/head anchor is missing/);
    const forged = { ...anchorOf(entries)!, totalRho: 0.001 };
    expect(verify({ entries, anchor: forged }).firstBroken?.reason).toMatch(/anchor does not match its MAC/);
  });

  it('catches a rewritten middle entry with the chain recomputed with plain SHA-256 (the old scheme) or a guessed key', () => {
    const rewritten = debits.map((spec, i) => (i === 1 ? { ...spec, rho: 0.005 } : spec));
    const sha256 = chain(rewritten, (entry) => createHash('sha256').update(canonicalJson({ version: 1, ...entry, createdAt: entry.createdAt.toISOString() })).digest('hex'));
    expect(verify({ entries: sha256, anchor: anchorOf(sha256, key) }).firstBroken).toEqual({ sequence: 1, reason: expect.stringMatching(/does not match its keyed hash/) });
    const guessed = randomBytes(32);
    const rekeyed = chain(rewritten, (entry) => ledgerEntryHash(entry, guessed));
    const result = verify({ entries: rekeyed, anchor: anchorOf(rekeyed, guessed) });
    expect(result.ok).toBe(false);
    expect(result.firstBroken?.sequence).toBe(1);
  });

  it('catches a debit rewritten with the key (cost and hash consistent): it contradicts its release', () => {
    const entries = chain(debits);
    const changed = { ...entries[1]!, rho: 0.005, totalRho: 0.015, parameters: { releaseId: releaseId(2), cost: { generation: null, labelCount: { rho: 0.005 } } } };
    const rehashed = { ...changed, hash: ledgerEntryHash(changed, key) } as LedgerEntryEntity;
    expect(verify({ entries: [entries[0]!, rehashed, entries[2]!] }).firstBroken).toEqual({ sequence: 2, reason: expect.stringMatching(/debits rho 0.005 for release .* which was charged 0.01/) });
  });

  it('refuses forged refunds: for a release still QUEUED, twice, or without the key', () => {
    const queued = [release(1), release(2), release(3, 'QUEUED')];
    const forged = chain([...debits, { kind: 'REFUND', release: 3, rho: -0.01 }, { kind: 'REFUND', release: 3, rho: -0.01 }]);
    expect(verify({ entries: forged, releases: queued }).firstBroken).toEqual({ sequence: 4, reason: `refunds release ${releaseId(3)}, which is QUEUED and so not refundable` });
    const cancelled = [release(1), release(2), release(3, 'CANCELLED', 0.01, false)];
    expect(verify({ entries: forged, releases: cancelled }).firstBroken).toEqual({ sequence: 5, reason: `refunds release ${releaseId(3)} a second time` });
    const readRecords = [release(1), release(2), release(3, 'FAILED', 0.01, true)];
    expect(verify({ entries: forged.slice(0, 4), releases: readRecords }).firstBroken?.reason).toMatch(/which read sensitive records/);
    const withoutDebit = chain([debits[0]!, debits[1]!, { kind: 'REFUND', release: 3, rho: -0.01 }]);
    expect(verify({ entries: withoutDebit, releases: cancelled }).firstBroken?.reason).toMatch(/has no earlier debit/);
    const unknownRelease = chain([...debits, { kind: 'REFUND', release: 9, rho: -0.01 }]);
    expect(verify({ entries: unknownRelease, releases: cancelled }).firstBroken?.reason).toMatch(/not a release of this dataset/);
  });

  it('accepts the one refund of a release cancelled before its first batch', () => {
    const entries = chain([...debits, { kind: 'REFUND', release: 3, rho: -0.01 }]);
    const result = verify({ entries, releases: [release(1), release(2), release(3, 'CANCELLED', 0.01, false)] });
    expect(result).toMatchObject({ ok: true, entries: 4 });
    expect(result.totalRho).toBeCloseTo(0.02, 15);
  });

  it('refuses a refund that gives back the noisy label count, which was released at creation', () => {
    const withCount = [...debits.slice(0, 2), { kind: 'DEBIT' as const, release: 3, rho: 0.01, countRho: 0.005 }];
    const releases = [release(1), release(2), release(3, 'CANCELLED', 0.01, false)];
    const whole = chain([...withCount, { kind: 'REFUND', release: 3, rho: -0.01 }]);
    expect(verify({ entries: whole, releases }).firstBroken?.reason).toMatch(/refundable 0\.005/);
    const generationOnly = chain([...withCount, { kind: 'REFUND', release: 3, rho: -0.005 }]);
    expect(verify({ entries: generationOnly, releases }).ok).toBe(true);
  });

  it('catches a second debit of one release and a debit of a release the table does not hold', () => {
    expect(verify({ entries: chain([...debits, { kind: 'DEBIT', release: 3, rho: 0.01 }]) }).firstBroken?.reason).toMatch(/a second time/);
    expect(verify({ entries: chain(debits), releases: [release(1), release(2)] }).firstBroken).toEqual({ sequence: 3, reason: expect.stringMatching(/not a release of this dataset/) });
  });
});
