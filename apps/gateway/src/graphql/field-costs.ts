/**
 * Complexity of fields whose work does not show in their shape (counted once per alias against
 * GRAPHQL_MAX_COMPLEXITY, 2000 by default). A plain field costs 1 and a list its page size.
 */
export const FIELD_COSTS = {
  /** Reads a dataset's whole ledger and recomputes its hash chain: at most 20 per request. */
  ledgerVerification: 100,
  /** Prices a release, tokenizes its template and reads a percentile of record lengths. */
  releasePlan: 50,
} as const;
