import { epsilonFromRho } from '@synthgate/privacy';
import { type EntityManager } from 'typeorm';
import { isUuid } from '../ids';
import { keysetPage, type Page, type PageRequest } from '../page';
import { LedgerEntryEntity, type LedgerEntryKind } from './ledger-entry.entity';
import { GENESIS_HASH, ledgerEntryHash } from './ledger-hash';

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
 * The part of a release's rho that a refund may give back: all of it but the noisy label count's.
 * A DP_COUNT release draws its noisy counts when it is created and shows them as `labelCounts` at
 * once, so that count is released (and paid for) whatever happens to the release afterwards;
 * refunding it would let create-and-cancel cycles average the noise away for free.
 */
export function refundableRho(release: { readonly rho: number; readonly cost: Record<string, unknown> }): number {
  const labelCount = release.cost.labelCount as { rho?: unknown } | null | undefined;
  const countRho = typeof labelCount?.rho === 'number' ? labelCount.rho : 0;
  return Math.max(0, release.rho - countRho);
}

/** The budget ledger. Entries are only ever appended, by `append`, under the dataset row lock. */
export class LedgerRepository {
  constructor(private readonly manager: EntityManager) {}

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

  /**
   * Appends an entry linked to the dataset's current head. The caller must hold the dataset's row
   * lock (`DatasetRepository.lockForUpdate`) in the same transaction, so two appends can never
   * read the same head.
   */
  async append(entry: NewLedgerEntry): Promise<LedgerEntryEntity> {
    const head = await this.head(entry.datasetId);
    const fields = {
      ...entry,
      sequence: (head?.sequence ?? 0) + 1,
      createdAt: new Date(),
      previousHash: head?.hash ?? GENESIS_HASH,
    };
    const hash = ledgerEntryHash(fields);
    return this.manager.save(this.manager.create(LedgerEntryEntity, { ...fields, hash }));
  }

  /**
   * Gives a release's rho back, as its own hash-chained REFUND entry: all of it but its noisy label
   * count's ({@link refundableRho}), which was released at creation. Only for a release that
   * provably never read a record for generation (cancelled or failed before its first batch):
   * refunds are never data-dependent (DESIGN.md section 4). The caller holds the dataset's row lock.
   */
  async refundRelease(refund: {
    readonly dataset: { readonly id: string; readonly budgetDelta: number };
    readonly release: { readonly id: string; readonly rho: number; readonly cost: Record<string, unknown> };
    readonly actorUserId: string | null;
    readonly reason: string;
  }): Promise<LedgerEntryEntity> {
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

  /** Every entry of a dataset in sequence order, for verification. */
  all(datasetId: string): Promise<LedgerEntryEntity[]> {
    return this.manager.find(LedgerEntryEntity, { where: { datasetId }, order: { sequence: 'ASC' } });
  }

  forRelease(releaseId: string): Promise<LedgerEntryEntity[]> {
    return this.manager.find(LedgerEntryEntity, { where: { releaseId }, order: { sequence: 'ASC' } });
  }
}
