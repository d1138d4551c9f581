import { graphql } from '../api/client';
import { QUALITY_REPORT, type LengthStatistics, type QualityReportResult } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Facts } from '../components/facts';
import { formatNumber, formatPercent, formatTime } from '../format';
import { useAsync } from '../hooks';
import { useSession } from '../session';

function lengths(statistics: LengthStatistics): string {
  return `${formatNumber(statistics.min)} to ${formatNumber(statistics.max)} (median ${formatNumber(statistics.median, 1)}, mean ${formatNumber(statistics.mean, 1)})`;
}

/**
 * The release's quality and replay report: computed by the worker from the sensitive records when
 * the release succeeded, so only the owning organisation's DATA_OWNER and COMPLIANCE may read it.
 * The verdict applies the gateway's rule: the replay share may not exceed the dataset's threshold
 * for the release to be published without an (audited) override.
 */
export function QualityReport({ releaseId, datasetId, status }: { releaseId: string; datasetId: string; status: string }) {
  const { token } = useSession();
  const succeeded = status === 'SUCCEEDED';
  const result = useAsync(
    () => (succeeded ? graphql<QualityReportResult>(token, QUALITY_REPORT, { id: releaseId, datasetId }) : Promise.resolve(null)),
    `quality:${releaseId}:${succeeded}`,
  );
  const report = result.data?.release.qualityReport ?? null;
  const threshold = result.data?.dataset.replayThreshold ?? 0;

  return (
    <section className="card" aria-labelledby="quality-heading">
      <h2 id="quality-heading">Quality and replay report</h2>
      <ErrorMessage error={result.error} context="Could not load the quality report" />
      {!succeeded ? <p className="muted">The report is computed once the release has succeeded.</p> : null}
      {succeeded && result.loading && !result.data ? <Loading what="the quality report" /> : null}
      {succeeded && result.data && !report ? <p className="muted">This release has no quality report (it finished before reports were computed).</p> : null}
      {report ? (
        <>
          {report.replay.replayShare > threshold ? (
            <p className="verification verification-broken" role="alert">
              <strong>Replay check failed:</strong> {formatPercent(report.replay.replayShare, 1)} of the synthetic records replay sensitive text, above the
              dataset&apos;s threshold of {formatPercent(threshold, 1)}. Publishing needs an explicit override, which is written to the audit log.
            </p>
          ) : (
            <p className="verification verification-ok" role="status">
              <strong>Replay check passed:</strong> {formatPercent(report.replay.replayShare, 1)} of the synthetic records replay sensitive text (threshold{' '}
              {formatPercent(threshold, 1)}).
            </p>
          )}
          <p className="muted" role="note">
            This report is computed from the sensitive records and is not covered by the differential privacy guarantee: only your organisation&apos;s data owners and
            compliance see it, and a publication refused or allowed because of the replay check is a decision outside the guarantee.
          </p>
          <div className="grid">
            <div>
              <h3>Records</h3>
              <Facts
                label="Quality"
                items={[
                  ['Synthetic records', formatNumber(report.records)],
                  ['Empty records', formatNumber(report.emptyRecords)],
                  ['Words per record', lengths(report.words)],
                  ['Characters per record', lengths(report.characters)],
                  ['Distinct texts', formatNumber(report.duplicates.distinctTexts)],
                  ['Duplicates', `${formatNumber(report.duplicates.duplicateRecords)} (largest group ${formatNumber(report.duplicates.largestGroup)})`],
                ]}
              />
            </div>
            <div>
              <h3>Replay against the sensitive records</h3>
              <Facts
                label="Replay"
                items={[
                  ['Sensitive records compared', formatNumber(report.replay.sensitiveRecordsCompared)],
                  ['Exact copies', formatNumber(report.replay.exactMatches)],
                  [`Sharing a run of ${report.replay.ngramSize} words`, `${formatNumber(report.replay.recordsSharingNgram)} (${formatPercent(report.replay.ngramShare, 1)})`],
                  ['Longest shared run', `${formatNumber(report.replay.longestSharedNgram)} words`],
                  ['Mean longest shared run', `${formatNumber(report.replay.meanLongestSharedNgram, 2)} words`],
                  ['Computed', formatTime(report.computedAt)],
                ]}
              />
            </div>
          </div>
          {report.replay.flagged.length > 0 ? (
            <div className="table-wrap">
              <table className="compact">
                <caption>Records that replay sensitive text</caption>
                <thead>
                  <tr>
                    <th scope="col">#</th>
                    <th scope="col">Label</th>
                    <th scope="col">Longest shared run</th>
                    <th scope="col">Exact copy</th>
                  </tr>
                </thead>
                <tbody>
                  {report.replay.flagged.map((record) => (
                    <tr key={record.ordinal}>
                      <th scope="row">{record.ordinal}</th>
                      <td>{record.label ?? '—'}</td>
                      <td>{record.longestSharedNgram} words</td>
                      <td>{record.exactMatch ? 'yes' : 'no'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
