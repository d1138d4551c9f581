/**
 * The release's quality and replay report (issue 7: computed by the worker after a release
 * succeeds; only the owning organisation's DATA_OWNER and COMPLIANCE may read it).
 *
 * PLACEHOLDER: the gateway does not expose `Release.qualityReport` yet. When it does, query it
 * here (and add the document to ALL_OPERATIONS in api/operations.ts so the schema test covers it).
 */
export function QualityReport({ status }: { releaseId: string; status: string }) {
  return (
    <section className="card" aria-labelledby="quality-heading">
      <h2 id="quality-heading">Quality and replay report</h2>
      <p className="muted" data-placeholder="quality-report">
        {status === 'SUCCEEDED'
          ? 'This gateway does not provide quality reports yet: record counts, length statistics, duplicates and replay checks against the sensitive records will appear here.'
          : 'A quality report is computed once the release has succeeded.'}
      </p>
    </section>
  );
}
