import { Injectable, Logger } from '@nestjs/common';
import { type Repositories } from '@synthgate/persistence';
import { DomainError } from '../gateway.errors';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { type LedgerVerificationResult, verifyLedgerEntries } from './ledger-verification';

/**
 * Verifies datasets' ledgers (chain, anchor, release cross-check) and raises the alarm when one
 * fails: an error log line once per dataset and the `synthgate_ledgers_invalid` gauge, until the
 * ledger verifies again. Admission calls {@link requireValid} under the dataset's row lock.
 */
@Injectable()
export class LedgerGuard {
  private readonly logger = new Logger('Ledger');
  private readonly invalid = new Set<string>();

  constructor(private readonly metrics: GatewayMetrics) {}

  async verify(repositories: Repositories, dataset: { readonly id: string; readonly budgetDelta: number }): Promise<LedgerVerificationResult> {
    // One after the other: in a transaction both run on one connection.
    const evidence = await repositories.ledger.evidence(dataset.id);
    const releases = await repositories.releases.ledgerViews(dataset.id);
    const result = verifyLedgerEntries({ ...evidence, releases, delta: dataset.budgetDelta });
    if (result.ok) {
      if (this.invalid.delete(dataset.id)) this.logger.log(`the budget ledger of dataset ${dataset.id} verifies again`);
    } else if (!this.invalid.has(dataset.id)) {
      this.invalid.add(dataset.id);
      // Error level, once: the ledger was changed outside the application (or the ledger key changed).
      this.logger.error(`LEDGER_INVALID: the budget ledger of dataset ${dataset.id} does not verify at entry ${result.firstBroken!.sequence}: ${result.firstBroken!.reason}`);
    }
    this.metrics.setLedgersInvalid(this.invalid.size);
    return result;
  }

  /** The verified ledger's totals; `LEDGER_INVALID` (nothing admitted, nothing debited) when it does not verify. */
  async requireValid(repositories: Repositories, dataset: { readonly id: string; readonly budgetDelta: number }): Promise<LedgerVerificationResult> {
    const result = await this.verify(repositories, dataset);
    if (!result.ok) {
      throw new DomainError(
        'LEDGER_INVALID',
        `the budget ledger of dataset ${dataset.id} does not verify (entry ${result.firstBroken!.sequence}: ${result.firstBroken!.reason}); no release is admitted until an operator repairs it`,
      );
    }
    return result;
  }
}
