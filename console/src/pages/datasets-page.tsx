import { graphql } from '../api/client';
import { DATASETS, type DatasetsResult } from '../api/operations';
import { BudgetGauge } from '../components/budget-gauge';
import { ErrorMessage, Loading } from '../components/error-message';
import { PageTitle } from '../components/page-title';
import { Pager, useCursorPages } from '../components/pager';
import { formatNumber } from '../format';
import { useAsync } from '../hooks';
import { Link } from '../router';
import { useSession } from '../session';

const PAGE_SIZE = 25;

/**
 * The datasets of the caller's organisation with their budgets. Data owners open a dataset;
 * compliance (`ledgerLinks`) opens its ledger.
 */
export function DatasetsPage({ ledgerLinks = false }: { ledgerLinks?: boolean }) {
  const { token } = useSession();
  const pages = useCursorPages();
  const datasets = useAsync(() => graphql<DatasetsResult>(token, DATASETS, { first: PAGE_SIZE, after: pages.after }), `datasets:${pages.after}`);
  const title = ledgerLinks ? 'Budget ledgers' : 'Datasets';
  const nodes = datasets.data?.datasets.nodes ?? [];

  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      <p className="lead">
        {ledgerLinks
          ? "Every dataset of your organisation: open one to read its ledger, its timeline and the chain's verification."
          : 'Your organisation’s sensitive datasets. Each has a privacy budget; every release spends part of it.'}
      </p>
      <ErrorMessage error={datasets.error} context="Could not load the datasets" />
      {datasets.loading && !datasets.data ? <Loading what="datasets" /> : null}
      {datasets.data ? (
        nodes.length === 0 ? (
          <p>No datasets yet. Create one and import records with the command line (<code>synthgate dataset create</code>).</p>
        ) : (
          <div className="table-wrap">
            <table>
              <caption className="visually-hidden">{title}</caption>
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col">Records</th>
                  <th scope="col">Labels</th>
                  <th scope="col">Budget</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((dataset) => (
                  <tr key={dataset.id}>
                    <th scope="row">
                      <Link to={ledgerLinks ? `/ledger/${dataset.id}` : `/datasets/${dataset.id}`}>{dataset.name}</Link>
                      {dataset.archived ? <span className="badge">archived</span> : null}
                      {dataset.description ? <div className="muted">{dataset.description}</div> : null}
                    </th>
                    <td>{formatNumber(dataset.recordCount)}</td>
                    <td>{dataset.labels.length > 0 ? dataset.labels.join(', ') : <span className="muted">unlabelled</span>}</td>
                    <td className="budget-cell">
                      {dataset.budget ? <BudgetGauge spent={dataset.budget.spentEpsilon} total={dataset.budget.epsilon} /> : <span className="muted">not visible to your role</span>}
                    </td>
                    <td>
                      {ledgerLinks ? (
                        <Link to={`/ledger/${dataset.id}`} aria-label={`Ledger of ${dataset.name}`}>
                          Ledger
                        </Link>
                      ) : (
                        <Link to={`/datasets/${dataset.id}/release`} className="button-link" aria-label={`New release of ${dataset.name}`}>
                          New release
                        </Link>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      <Pager label="Datasets" pageInfo={datasets.data?.datasets.pageInfo} page={pages.page} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
