import { epsilonFromRho } from '@synthgate/privacy';
import { type EntityManager } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { PersistenceError } from '../persistence.errors';
import { LedgerEntryEntity, type LedgerEntryKind } from './ledger-entry.entity';
import { GENESIS_HASH, ledgerEntryHash, ledgerHeadMac } from './ledger-hash';
import { LedgerHeadEntity } from './ledger-head.entity';

/** What a debit or refund writes; sequence, time and the hash chain are the repository's. */
export interface NewLedgerEntry {
  readonly datasetId: string;
  readonly releaseId: string | null;
  readonly kind: LedgerEntryKind;
  readonly rho: number;
  readonly totalRho: number;
  readonly epsilonAfter: number;
  readonly delta: number;
  readonly conversion: string;
  readonly parameters: Record<string, unknown>;
  readonly actorUserId: string | null;
}

/**
 * The part of a release's rho that a refund may give back: all of it but the noisy label count's
 * and the private clustering's (both drawn from the records when the release is created).
 * A DP_COUNT release draws its noisy counts when it is created and shows them as `labelCounts` at
 * once, so that count is released (and paid for) whatever happens to the release afterwards;
 * refunding it would let create-and-cancel cycles average the noise away for free.
 */
export function refundableRho(release: { readonly rho: number; readonly cost: Record<string, unknown> }): number {
  const labelCount = release.cost.labelCount as { rho?: unknown } | null | undefined;
  const countRho = typeof labelCount?.rho === 'number' ? labelCount.rho : 0;
  // CLUSTERED batching: the private k-means read every record when the release was created.
  const clustering = release.cost.clustering as { rho?: unknown } | null | undefined;
  const clusteringRho = typeof clustering?.rho === 'number' ? clustering.rho : 0;
  return Math.max(0, release.rho - countRho - clusteringRho);
}

/**
 * Why a dataset's newest entry and its anchor disagree, or null when they agree: the anchor's MAC
 * holds under the key, it names the newest entry (sequence, hash, total rho), and the newest
 * entry's own HMAC holds. This catches a deleted head (the anchor names a later entry), a ledger
 * emptied behind the application's back, and a forged or rolled-back anchor.
 */
export function ledgerHeadProblem(head: LedgerEntryEntity | null, anchor: LedgerHeadEntity | null, key: Buffer): string | null {
  if (!head && !anchor) return null;
  if (!anchor) return `its head anchor is missing while the ledger holds ${head!.sequence} entries`;
  if (ledgerHeadMac(anchor, key) !== anchor.mac) return 'its head anchor does not match its MAC: it was changed outside the application';
  if (!head) return `the ledger is empty but its anchor records ${anchor.sequence} entries: entries were deleted`;
  if (anchor.sequence !== head.sequence || anchor.hash !== head.hash || anchor.totalRho !== head.totalRho) {
    return head.sequence < anchor.sequence
      ? `the ledger ends at entry ${head.sequence} but its anchor records ${anchor.sequence} entries: entries were deleted`
      : `the ledger ends at entry ${head.sequence}, which is not the head its anchor records (entry ${anchor.sequence})`;
  }
  if (ledgerEntryHash(head, key) !== head.hash) return `its newest entry (${head.sequence}) does not match its keyed hash`;
  return null;
}

/** How a release that ends without succeeding is settled, see {@link LedgerRepository.settleRelease}. */
export interface ReleaseSettlement {
  readonly dataset: { readonly id: string; readonly budgetDelta: number };
  readonly release: { readonly id: string; readonly rho: number; readonly cost: Record<string, unknown> };
  /** Whether the release was debited at all (false for an uncharged mechanism: the non-private reference). */
  readonly charged: boolean;
  /** Whether any of its batches ever started, i.e. read a sensitive record. */
  readonly readRecords: boolean;
  readonly actorUserId: string | null;
  /** Why it was refunded, recorded with the refund (e.g. 'cancelled before any record was read'). */
  readonly reason: string;
}

/** The budget ledger. Entries are only ever appended, by `append`, under the dataset row lock. */
export class LedgerRepository {
  constructor(
    private readonly manager: EntityManager,
    private readonly key: Buffer,
  ) {}

  /** The dataset's total rho: the sum over its ledger (refunds are negative). */
  async totalRho(datasetId: string): Promise<number> {
    const head = await this.head(datasetId);
    return head?.totalRho ?? 0;
  }

  /** The latest entry of a dataset, or null for an empty ledger. */
  head(datasetId: string): Promise<LedgerEntryEntity | null> {
    if (!isUuid(datasetId)) return Promise.resolve(null);
    return this.manager.findOne(LedgerEntryEntity, { where: { datasetId }, order: { sequence: 'DESC' } });
  }

  /** The anchor of a dataset's head (see LedgerHeadEntity), or null before its first entry. */
  anchor(datasetId: string): Promise<LedgerHeadEntity | null> {
    if (!isUuid(datasetId)) return Promise.resolve(null);
    return this.manager.findOne(LedgerHeadEntity, { where: { datasetId } });
  }

  /**
   * Refuses (`LEDGER_INVALID`) when the dataset's newest entry and its anchor disagree (see
   * {@link ledgerHeadProblem}); returns the verified head. Run under the dataset row lock.
   */
  async verifiedHead(datasetId: string): Promise<LedgerEntryEntity | null> {
    // One after the other: in a transaction both run on one connection.
    const head = await this.head(datasetId);
    const anchor = await this.anchor(datasetId);
    const problem = ledgerHeadProblem(head, anchor, this.key);
    if (problem) throw new PersistenceError('LEDGER_INVALID', `the budget ledger of dataset ${datasetId} does not verify: ${problem}`);
    return head;
  }

  /**
   * Appends an entry linked to the dataset's verified head and moves the head's anchor to it, in
   * the caller's transaction. The caller must hold the dataset's row lock
   * (`DatasetRepository.lockForUpdate`), so two appends can never read the same head. A head that
   * does not match its anchor is refused (`LEDGER_INVALID`) rather than chained onto, so an append
   * can never paper over a deleted entry.
   */
  async append(entry: NewLedgerEntry): Promise<LedgerEntryEntity> {
    const head = await this.verifiedHead(entry.datasetId);
    const fields = {
      ...entry,
      sequence: (head?.sequence ?? 0) + 1,
      createdAt: new Date(),
      previousHash: head?.hash ?? GENESIS_HASH,
    };
    const hash = ledgerEntryHash(fields, this.key);
    const saved = await this.manager.save(this.manager.create(LedgerEntryEntity, { ...fields, hash }));
    const anchor = { datasetId: entry.datasetId, sequence: saved.sequence, hash, totalRho: entry.totalRho };
    await this.manager.upsert(LedgerHeadEntity, { ...anchor, mac: ledgerHeadMac(anchor, this.key), updatedAt: new Date() }, ['datasetId']);
    return saved;
  }

  /**
   * Debits a release's rho, as its own hash-chained DEBIT entry on top of the dataset's verified
   * head: the new total and the epsilon it reaches at the dataset's delta (tight conversion) are
   * computed here, the one place that writes ledger totals. The caller holds the dataset's row lock
   * and has admitted the release against the same total.
   */
  async debitRelease(debit: {
    readonly dataset: { readonly id: string; readonly budgetDelta: number };
    readonly releaseId: string;
    readonly rho: number;
    readonly parameters: Record<string, unknown>;
    readonly actorUserId: string | null;
  }): Promise<LedgerEntryEntity> {
    const totalRho = (await this.totalRho(debit.dataset.id)) + debit.rho;
    return this.append({
      datasetId: debit.dataset.id,
      releaseId: debit.releaseId,
      kind: 'DEBIT',
      rho: debit.rho,
      totalRho,
      epsilonAfter: epsilonFromRho(totalRho, debit.dataset.budgetDelta, 'tight'),
      delta: debit.dataset.budgetDelta,
      conversion: 'tight',
      parameters: debit.parameters,
      actorUserId: debit.actorUserId,
    });
  }

  /**
   * The one settlement rule of a release that ends without succeeding (cancelled, or failed): its
   * cost stands, unless it was charged and provably never read a record for generation (no batch
   * ever started); only then is it refunded ({@link refundRelease}), as its own ledger entry.
   * Refunds are never data-dependent (DESIGN.md section 4). Returns whether it was refunded. The
   * caller holds the dataset's row lock and the release's, and ends the release in the same transaction.
   */
  async settleRelease(settlement: ReleaseSettlement): Promise<boolean> {
    const refunded = settlement.charged && !settlement.readRecords;
    if (refunded) await this.refundRelease({ dataset: settlement.dataset, release: settlement.release, actorUserId: settlement.actorUserId, reason: settlement.reason });
    return refunded;
  }

  /**
   * Gives a release's rho back, as its own hash-chained REFUND entry: all of it but its noisy label
   * count's ({@link refundableRho}), which was released at creation. Only for a release that
   * provably never read a record for generation (cancelled or failed before its first batch):
   * refunds are never data-dependent (DESIGN.md section 4). Only through {@link settleRelease}'s
   * rule. The caller holds the dataset's row lock.
   */
  private async refundRelease(refund: {
    readonly dataset: { readonly id: string; readonly budgetDelta: number };
    readonly release: { readonly id: string; readonly rho: number; readonly cost: Record<string, unknown> };
    readonly actorUserId: string | null;
    readonly reason: string;
  }): Promise<LedgerEntryEntity> {
    // A refund pays back one debit, once (verification checks the same, ledger-verification.ts).
    const earlier = await this.forRelease(refund.release.id);
    if (!earlier.some((entry) => entry.kind === 'DEBIT') || earlier.some((entry) => entry.kind === 'REFUND')) {
      throw new PersistenceError('LEDGER_INVALID', `release ${refund.release.id} has no debit to refund, or was refunded already`);
    }
    const rho = refundableRho(refund.release);
    const totalRho = Math.max(0, (await this.totalRho(refund.dataset.id)) - rho);
    return this.append({
      datasetId: refund.dataset.id,
      releaseId: refund.release.id,
      kind: 'REFUND',
      rho: -rho,
      totalRho,
      epsilonAfter: epsilonFromRho(totalRho, refund.dataset.budgetDelta, 'tight'),
      delta: refund.dataset.budgetDelta,
      conversion: 'tight',
      parameters: { releaseId: refund.release.id, reason: refund.reason, cost: refund.release.cost, keptRho: refund.release.rho - rho, kept: rho < refund.release.rho ? 'the noisy label count, released at creation' : null },
      actorUserId: refund.actorUserId,
    });
  }

  list(datasetId: string, page: PageRequest): Promise<Page<LedgerEntryEntity>> {
    const query = this.manager.createQueryBuilder(LedgerEntryEntity, 'l').where('l.dataset_id = :datasetId', { datasetId });
    return keysetPage(query, { id: 'l.sequence' }, page, (l) => [l.sequence]);
  }

  /** What verification needs from the ledger: every entry in sequence order, the head anchor and the key. */
  async evidence(datasetId: string): Promise<{ entries: LedgerEntryEntity[]; anchor: LedgerHeadEntity | null; key: Buffer }> {
    const entries = await this.all(datasetId);
    return { entries, anchor: await this.anchor(datasetId), key: this.key };
  }

  /** Every entry of a dataset in sequence order, for verification. */
  all(datasetId: string): Promise<LedgerEntryEntity[]> {
    return this.manager.find(LedgerEntryEntity, { where: { datasetId }, order: { sequence: 'ASC' } });
  }

  forRelease(releaseId: string): Promise<LedgerEntryEntity[]> {
    return this.manager.find(LedgerEntryEntity, { where: { releaseId }, order: { sequence: 'ASC' } });
  }
}
