import { type ReactNode } from 'react';
import { graphql } from '../api/client';
import { DATASET, type DatasetResult, RELEASES, type ReleasesResult, VERIFY_LEDGER, type VerifyLedgerResult } from '../api/operations';
import { BudgetGauge } from '../components/budget-gauge';
import { ErrorMessage, Loading } from '../components/error-message';
import { Facts } from '../components/facts';
import { PageTitle } from '../components/page-title';
import { Pager, useCursorPages } from '../components/pager';
import { StepChart } from '../components/step-chart';
import { formatEpsilon, formatNumber, formatPercent, formatRho, formatTime } from '../format';
import { useAsync } from '../hooks';
import { burnDownPoints, loadLedger } from '../ledger';
import { Link } from '../router';
import { useSession } from '../session';
import { DeclaredLabels } from './declared-labels';
import { RecordSchemaTable } from './record-schema';
import { ReleaseTable } from './release-list';
import { VerificationResult } from './verification-result';

/** A data owner's view of one dataset: its budget, where it went, and its releases. */
export function DatasetPage({ id }: { id: string }) {
  const { token, me } = useSession();
  const dataset = useAsync(() => graphql<DatasetResult>(token, DATASET, { id }), `dataset:${id}`);
  const ledger = useAsync(() => loadLedger(token, id), `ledger:${id}`);
  const verification = useAsync(() => graphql<VerifyLedgerResult>(token, VERIFY_LEDGER, { datasetId: id }), `verify:${id}`);
  const pages = useCursorPages();
  const releases = useAsync(
    () => graphql<ReleasesResult>(token, RELEASES, { filter: { datasetId: id }, first: 20, after: pages.after }),
    `releases:${id}:${pages.after}`,
  );

  const detail = dataset.data?.dataset;
  const budget = detail?.budget;
  return (
    <>
      <PageTitle title={detail?.name ?? 'Dataset'}>{detail ? `Dataset ${detail.name}` : 'Dataset'}</PageTitle>
      <ErrorMessage error={dataset.error} context="Could not load the dataset" />
      {dataset.loading && !detail ? <Loading what="the dataset" /> : null}
      {detail ? (
        <>
          {detail.description ? <p className="lead">{detail.description}</p> : null}
          <div className="actions">
            <Link to={`/datasets/${id}/release`} className="button-link primary">
              Plan a new release
            </Link>
            <Link to={`/ledger/${id}`}>Ledger table</Link>
          </div>
          <div className="grid">
            <section className="card" aria-labelledby="budget-heading">
              <h2 id="budget-heading">Privacy budget</h2>
              {budget ? (
                <>
                  <BudgetGauge spent={budget.spentEpsilon} total={budget.epsilon} large />
                  <Facts
                    label="Budget figures"
                    items={[
                      ['Budget', `ε ${formatEpsilon(budget.epsilon)} at δ ${budget.delta}`],
                      ['Spent', `ε ${formatEpsilon(budget.spentEpsilon)} (ρ ${formatRho(budget.spentRho)})`],
                      ['Spent, closed-form conversion', `ε ${formatEpsilon(budget.closedFormSpentEpsilon)}`],
                      ['Remaining', `ε ${formatEpsilon(budget.remainingEpsilon)}`],
                      ...(budget.nonPrivateReleases > 0
                        ? ([['Non-private reference releases', `${budget.nonPrivateReleases} (no privacy guarantee; not in the ledger)`]] as [string, string][])
                        : []),
                    ]}
                  />
                  {budget.warnings.length > 0 ? (
                    <ul className="warnings" aria-label="Budget warnings">
                      {budget.warnings.map((warning) => (
                        <li key={warning}>{warning}</li>
                      ))}
                    </ul>
                  ) : null}
                </>
              ) : (
                <p className="muted">Your role may not read this budget.</p>
              )}
            </section>
            <section className="card" aria-labelledby="data-heading">
              <h2 id="data-heading">Data</h2>
              <Facts
                label="Dataset facts"
                items={[
                  ['Records', formatNumber(detail.recordCount)],
                  ['Labels', detail.labelField ? (detail.labels.length > 0 ? `${detail.labels.join(', ')} (declared)` : 'none declared yet') : 'unlabelled'],
                  ...(detail.structured
                    ? ([['Fields', `${detail.recordSchema.fields.length} (see the record schema)`]] as [string, string][])
                    : ([
                        ['Text field', <code key="text">{detail.textField}</code>],
                        ['Label field', detail.labelField ? <code key="label">{detail.labelField}</code> : 'none'],
                      ] as [string, ReactNode][])),
                  ['Replay threshold', `${formatPercent(detail.replayThreshold, 1)} of a release's records`],
                  ...(detail.benchmark ? ([['Benchmark dataset', 'yes: non-private reference releases allowed']] as [string, string][]) : []),
                  ['Created', formatTime(detail.createdAt)],
                ]}
              />
              <h3>Prompt template</h3>
              <pre className="template">{detail.promptTemplate}</pre>
            </section>
          </div>
          {detail.structured ? <RecordSchemaTable fields={detail.recordSchema.fields} conditionField={detail.recordSchema.conditionField} /> : null}
          {detail.labelField ? (
            <DeclaredLabels
              datasetId={id}
              labels={detail.labels}
              derivedFromData={detail.labelsDerivedFromData}
              canDeclare={me.role === 'DATA_OWNER' && !detail.archived}
              onChange={(labels) => dataset.setData((current) => (current ? { dataset: { ...current.dataset, labels } } : current))}
            />
          ) : null}
          <section className="card" aria-labelledby="burn-heading">
            <h2 id="burn-heading">Budget burn-down</h2>
            <ErrorMessage error={ledger.error} context="Could not load the ledger" />
            <ErrorMessage error={verification.error} context="Could not verify the ledger" />
            {verification.data ? <VerificationResult verification={verification.data.verifyLedger} /> : null}
            {ledger.data ? (
              <>
                <StepChart
                  title={`Remaining ε of ${detail.name}`}
                  description={`Remaining epsilon over time: ${formatEpsilon(ledger.data.epsilon)} at creation, ${ledger.data.entries.length} ledger ${ledger.data.entries.length === 1 ? 'entry' : 'entries'} since.`}
                  points={burnDownPoints(detail.createdAt, ledger.data)}
                  yLabel="remaining ε"
                  yMax={ledger.data.epsilon}
                />
                {ledger.data.truncated ? <p className="warnings">Only the first {ledger.data.entries.length} ledger entries are drawn.</p> : null}
              </>
            ) : ledger.loading ? (
              <Loading what="the ledger" />
            ) : null}
          </section>
          <section aria-labelledby="releases-heading">
            <h2 id="releases-heading">Releases of this dataset</h2>
            <ErrorMessage error={releases.error} context="Could not load the releases" />
            {releases.data ? (
              releases.data.releases.nodes.length === 0 ? (
                <p>No release yet.</p>
              ) : (
                <ReleaseTable releases={releases.data.releases.nodes} showDataset={false} caption={`Releases of ${detail.name}`} />
              )
            ) : null}
            <Pager label="Releases" pageInfo={releases.data?.releases.pageInfo} page={pages.page} onNext={pages.next} onPrevious={pages.previous} />
          </section>
        </>
      ) : null}
    </>
  );
}
