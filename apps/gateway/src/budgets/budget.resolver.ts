import { Args, ID, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { type Actor, Can, CurrentActor } from '@synthgate/access';
import { FIELD_COSTS } from '../graphql/field-costs';
import { PageArgs, pageRequest, toConnection } from '../graphql/pagination';
import { budgetWarnings, Dataset } from '../datasets/dataset.types';
import { BudgetService } from './budget.service';
import { Budget, LedgerEntryConnection, LedgerVerification, toLedgerEntry } from './budget.types';

@Resolver(() => Budget)
export class BudgetResolver {
  constructor(private readonly budgetService: BudgetService) {}

  @Query(() => LedgerVerification, { description: "Recomputes a dataset's ledger hash chain and total rho.", complexity: FIELD_COSTS.ledgerVerification })
  @Can('read', 'Budget')
  async verifyLedger(@CurrentActor() actor: Actor, @Args('datasetId', { type: () => ID }) datasetId: string) {
    return this.budgetService.verify(actor, datasetId);
  }

  @ResolveField(() => LedgerEntryConnection, { description: 'Ledger entries, oldest first.' })
  async ledger(@CurrentActor() actor: Actor, @Parent() budget: Budget, @Args() page: PageArgs) {
    return toConnection(await this.budgetService.ledger(actor, budget.datasetId, pageRequest(page)), toLedgerEntry);
  }

  @ResolveField(() => LedgerVerification, { complexity: FIELD_COSTS.ledgerVerification })
  async verification(@CurrentActor() actor: Actor, @Parent() budget: Budget) {
    return this.budgetService.verify(actor, budget.datasetId);
  }
}

/** `Dataset.budget`: null for callers who may not read budgets. */
@Resolver(() => Dataset)
export class DatasetBudgetResolver {
  constructor(private readonly budgetService: BudgetService) {}

  @ResolveField(() => Budget, { nullable: true, description: 'Null for callers who may not read budgets (only DATA_OWNER and COMPLIANCE).' })
  async budget(@CurrentActor() actor: Actor, @Parent() dataset: Dataset): Promise<Budget | null> {
    const view = await this.budgetService.budgetOf(actor, {
      id: dataset.id,
      organizationId: dataset.organizationId,
      budgetEpsilon: dataset.budgetEpsilon,
      budgetDelta: dataset.budgetDelta,
      recordCount: dataset.recordCount,
    });
    if (!view) return null;
    const warnings = budgetWarnings({ recordCount: dataset.recordCount, budgetDelta: dataset.budgetDelta });
    if (view.remainingEpsilon <= 0) warnings.push('the budget is spent: no further private release can be admitted');
    if (view.nonPrivateReleases > 0) {
      warnings.push(
        `${view.nonPrivateReleases} NON_PRIVATE_REFERENCE release(s) of this benchmark dataset read its records with no privacy guarantee (epsilon infinite, not in the ledger): the spent epsilon covers only the private releases`,
      );
    }
    return { ...view, warnings };
  }
}
