import { Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, subject } from '@synthgate/access';
import { Database, type LedgerEntryEntity, type Page, type PageRequest } from '@synthgate/persistence';
import { epsilonFromRho } from '@synthgate/privacy';
import { LedgerGuard } from './ledger-guard';
import { type LedgerVerificationResult } from './ledger-verification';

/** A dataset's budget as reviewers see it. */
export interface BudgetView {
  readonly datasetId: string;
  readonly epsilon: number;
  readonly delta: number;
  readonly spentRho: number;
  readonly spentEpsilon: number;
  readonly closedFormSpentEpsilon: number;
  readonly remainingEpsilon: number;
  readonly recordCount: number;
  /** NON_PRIVATE_REFERENCE releases that read the records: the budget's guarantee does not cover them. */
  readonly nonPrivateReleases: number;
}

/** Budgets, ledgers and their verification: DATA_OWNER and COMPLIANCE of the dataset's organisation. */
@Injectable()
export class BudgetService {
  constructor(
    private readonly database: Database,
    private readonly ledgerGuard: LedgerGuard,
  ) {}

  private canRead(actor: Actor, organizationId: string): boolean {
    return defineAbilityFor(actor).can('read', subject('Budget', { organizationId }));
  }

  /**
   * The budget, or null when the caller may not read budgets. Spent epsilon is always computed
   * from the total rho at the dataset's delta (tight conversion; the closed form for comparison).
   */
  async budgetOf(
    actor: Actor,
    dataset: { id: string; organizationId: string; budgetEpsilon: number; budgetDelta: number; recordCount: number },
  ): Promise<BudgetView | null> {
    if (!this.canRead(actor, dataset.organizationId)) return null;
    const spentRho = await this.database.repositories.ledger.totalRho(dataset.id);
    const spentEpsilon = epsilonFromRho(spentRho, dataset.budgetDelta, 'tight');
    const nonPrivateReleases = await this.database.repositories.releases.countNonPrivate(dataset.id);
    return {
      nonPrivateReleases,
      datasetId: dataset.id,
      epsilon: dataset.budgetEpsilon,
      delta: dataset.budgetDelta,
      spentRho,
      spentEpsilon,
      closedFormSpentEpsilon: epsilonFromRho(spentRho, dataset.budgetDelta, 'closed'),
      remainingEpsilon: dataset.budgetEpsilon - spentEpsilon,
      recordCount: dataset.recordCount,
    };
  }

  private async datasetFor(actor: Actor, datasetId: string) {
    const dataset = await this.database.repositories.datasets.findById(datasetId);
    if (!dataset || !this.canRead(actor, dataset.organizationId)) throw AccessError.notFound('dataset', datasetId);
    return dataset;
  }

  async ledger(actor: Actor, datasetId: string, page: PageRequest): Promise<Page<LedgerEntryEntity>> {
    const dataset = await this.datasetFor(actor, datasetId);
    return this.database.repositories.ledger.list(dataset.id, page);
  }

  /** `verifyLedger(datasetId)`: recomputes the chain, its anchor and the release cross-check; ok, or the first problem. */
  async verify(actor: Actor, datasetId: string): Promise<LedgerVerificationResult> {
    const dataset = await this.datasetFor(actor, datasetId);
    // One snapshot: entries, anchor and releases read in one REPEATABLE READ transaction agree.
    return this.database.transaction((repositories) => this.ledgerGuard.verify(repositories, dataset), 'REPEATABLE READ');
  }
}
