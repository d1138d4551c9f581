import { graphql } from '../api/client';
import { DATASET, type DatasetResult, VERIFY_LEDGER, type VerifyLedgerResult } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Facts } from '../components/facts';
import { PageTitle } from '../components/page-title';
import { StepChart } from '../components/step-chart';
import { formatEpsilon, formatRho, formatTime, shortId } from '../format';
import { useAsync } from '../hooks';
import { loadLedger, spentPoints } from '../ledger';
import { Link } from '../router';
import { useSession } from '../session';
import { VerificationResult } from './verification-result';

/** Compliance's view of one dataset's budget ledger: the chain's verification, a timeline, every entry. */
export function LedgerPage({ datasetId }: { datasetId: string }) {
  const { token } = useSession();
  const dataset = useAsync(() => graphql<DatasetResult>(token, DATASET, { id: datasetId }), `dataset:${datasetId}`);
  const ledger = useAsync(() => loadLedger(token, datasetId), `ledger:${datasetId}`);
  const verification = useAsync(() => graphql<VerifyLedgerResult>(token, VERIFY_LEDGER, { datasetId }), `verify:${datasetId}`);
  const detail = dataset.data?.dataset;
  const budget = detail?.budget;

  return (
    <>
      <PageTitle title="Ledger">{detail ? `Ledger of ${detail.name}` : 'Ledger'}</PageTitle>
      <p>
        <Link to="/ledger">All ledgers</Link>
      </p>
      <ErrorMessage error={dataset.error} context="Could not load the dataset" />
      {detail && budget ? (
        <Facts
          label="Budget"
          items={[
            ['Budget', `ε ${formatEpsilon(budget.epsilon)} at δ ${budget.delta}`],
            ['Spent', `ε ${formatEpsilon(budget.spentEpsilon)} (ρ ${formatRho(budget.spentRho)})`],
            ['Remaining', `ε ${formatEpsilon(budget.remainingEpsilon)}`],
            ['Records', String(detail.recordCount)],
          ]}
        />
      ) : null}
      <section className="card" aria-labelledby="verify-heading">
        <h2 id="verify-heading">Verification</h2>
        <ErrorMessage error={verification.error} context="Could not verify the ledger" />
        {verification.data ? <VerificationResult verification={verification.data.verifyLedger} /> : verification.loading ? <Loading what="the verification" /> : null}
        <button type="button" onClick={verification.reload} disabled={verification.loading}>
          Verify again
        </button>
      </section>
      <ErrorMessage error={ledger.error} context="Could not load the ledger" />
      {ledger.loading && !ledger.data ? <Loading what="the ledger" /> : null}
      {ledger.data && detail ? (
        <>
          <section className="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">Timeline</h2>
            <StepChart
              title={`Spent ε of ${detail.name} over time`}
              description={`Spent epsilon after each of ${ledger.data.entries.length} ledger ${ledger.data.entries.length === 1 ? 'entry' : 'entries'}, against the budget of ${formatEpsilon(ledger.data.epsilon)}.`}
              points={spentPoints(detail.createdAt, ledger.data)}
              yLabel="spent ε"
              yMax={ledger.data.epsilon}
              reference={{ value: ledger.data.epsilon, label: `budget ε ${formatEpsilon(ledger.data.epsilon)}` }}
            />
            <p className="legend">
              <span className="legend-debit">●</span> debit <span className="legend-refund">●</span> refund
            </p>
          </section>
          <section aria-labelledby="entries-heading">
            <h2 id="entries-heading">Entries</h2>
            {ledger.data.truncated ? <p className="warnings">Only the first {ledger.data.entries.length} entries are shown.</p> : null}
            {ledger.data.entries.length === 0 ? (
              <p>No entries: nothing has been spent from this budget.</p>
            ) : (
              <div className="table-wrap">
                <table className="ledger">
                  <caption className="visually-hidden">Ledger entries of {detail.name}, oldest first</caption>
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      <th scope="col">Time</th>
                      <th scope="col">Kind</th>
                      <th scope="col">Release</th>
                      <th scope="col">ρ</th>
                      <th scope="col">Total ρ</th>
                      <th scope="col">ε after</th>
                      <th scope="col">Actor</th>
                      <th scope="col">Hash</th>
                    </tr>
                  </thead>
                  <tbody>
                    {ledger.data.entries.map((entry) => (
                      <tr key={entry.sequence}>
                        <th scope="row">{entry.sequence}</th>
                        <td>{formatTime(entry.createdAt)}</td>
                        <td>{entry.kind.toLowerCase()}</td>
                        <td>{entry.releaseId ? <Link to={`/releases/${entry.releaseId}`}>{shortId(entry.releaseId)}</Link> : '—'}</td>
                        <td>{formatRho(entry.rho)}</td>
                        <td>{formatRho(entry.totalRho)}</td>
                        <td>{formatEpsilon(entry.epsilonAfter)}</td>
                        <td>{entry.actorUserId ? <code>{shortId(entry.actorUserId)}</code> : '—'}</td>
                        <td>
                          <code title={entry.hash}>{entry.hash.slice(0, 12)}</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
