import { graphql } from './api/client';
import { LEDGER_PAGE, type LedgerEntry, type LedgerPageResult } from './api/operations';
import { type StepPoint } from './components/step-chart';
import { formatEpsilon, formatRho, formatTime } from './format';

/** Ledgers longer than this are shown in part, and the page says so. */
export const LEDGER_ENTRY_LIMIT = 5000;

export interface FullLedger {
  epsilon: number;
  entries: LedgerEntry[];
  truncated: boolean;
}

/** Reads a dataset's whole ledger, oldest first, page by page (100 per page, the API's maximum). */
export async function loadLedger(token: string, datasetId: string): Promise<FullLedger> {
  const entries: LedgerEntry[] = [];
  let after: string | null = null;
  let epsilon = 0;
  for (;;) {
    const result: LedgerPageResult = await graphql<LedgerPageResult>(token, LEDGER_PAGE, { id: datasetId, first: 100, after });
    const budget = result.dataset.budget;
    if (!budget) return { epsilon: 0, entries: [], truncated: false };
    epsilon = budget.epsilon;
    entries.push(...budget.ledger.nodes);
    if (!budget.ledger.pageInfo.hasNextPage) return { epsilon, entries, truncated: false };
    if (entries.length >= LEDGER_ENTRY_LIMIT) return { epsilon, entries, truncated: true };
    after = budget.ledger.pageInfo.endCursor;
  }
}

function entryLabel(entry: LedgerEntry): string {
  return `#${entry.sequence} ${entry.kind.toLowerCase()} of rho ${formatRho(entry.rho)} at ${formatTime(entry.createdAt)}: ${formatEpsilon(entry.epsilonAfter)} ε spent after it`;
}

/** Remaining epsilon over time: full at the dataset's creation, down at each debit, up at a refund. */
export function burnDownPoints(createdAt: string, ledger: FullLedger, now = Date.now()): StepPoint[] {
  const points: StepPoint[] = [{ time: Date.parse(createdAt), value: ledger.epsilon, label: 'dataset created' }];
  for (const entry of ledger.entries) {
    points.push({ time: Date.parse(entry.createdAt), value: ledger.epsilon - entry.epsilonAfter, label: entryLabel(entry), marker: entry.kind === 'DEBIT' ? 'debit' : 'refund' });
  }
  const last = points[points.length - 1]!;
  points.push({ time: Math.max(now, last.time), value: last.value, label: 'now' });
  return points;
}

/** Spent epsilon over time, one marked point per ledger entry. */
export function spentPoints(createdAt: string, ledger: FullLedger, now = Date.now()): StepPoint[] {
  const points: StepPoint[] = [{ time: Date.parse(createdAt), value: 0, label: 'dataset created' }];
  for (const entry of ledger.entries) {
    points.push({ time: Date.parse(entry.createdAt), value: entry.epsilonAfter, label: entryLabel(entry), marker: entry.kind === 'DEBIT' ? 'debit' : 'refund' });
  }
  const last = points[points.length - 1]!;
  points.push({ time: Math.max(now, last.time), value: last.value, label: 'now' });
  return points;
}
