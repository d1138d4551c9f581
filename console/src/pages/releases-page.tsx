import { useState } from 'react';
import { graphql } from '../api/client';
import { RELEASES, type ReleasesResult, type ReleaseStatus } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { PageTitle } from '../components/page-title';
import { Pager, useCursorPages } from '../components/pager';
import { useAsync } from '../hooks';
import { useSession } from '../session';
import { ReleaseTable } from './release-list';

const statuses: ReleaseStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** The releases the caller may see: its organisation's, or (consumers) those published to it. */
export function ReleasesPage() {
  const { token, me } = useSession();
  const [status, setStatus] = useState<ReleaseStatus | ''>('');
  const pages = useCursorPages();
  const releases = useAsync(
    () => graphql<ReleasesResult>(token, RELEASES, { filter: status ? { status } : null, first: 20, after: pages.after }),
    `releases:${status}:${pages.after}`,
  );
  const consumer = me.role === 'CONSUMER';
  const organization = me.organization?.name ?? 'your organisation';
  const title = consumer ? `Releases published to ${organization}` : 'Releases';
  return (
    <>
      <PageTitle title={title}>{title}</PageTitle>
      <p className="lead">
        {consumer
          ? 'Synthetic datasets other organisations have published to yours. Open one to read its parameters, its privacy cost and its records.'
          : `Every release of ${organization}'s datasets.`}
      </p>
      <div className="toolbar">
        <div className="field">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={status}
            onChange={(event) => {
              setStatus(event.target.value as ReleaseStatus | '');
              pages.reset();
            }}
          >
            <option value="">Any status</option>
            {statuses.map((entry) => (
              <option key={entry} value={entry}>
                {entry.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <button type="button" onClick={releases.reload}>
          Refresh
        </button>
      </div>
      <ErrorMessage error={releases.error} context="Could not load the releases" />
      {releases.loading && !releases.data ? <Loading what="releases" /> : null}
      {releases.data ? (
        releases.data.releases.nodes.length === 0 ? (
          <p>{consumer ? 'Nothing has been published to your organisation yet.' : 'No releases.'}</p>
        ) : (
          <ReleaseTable releases={releases.data.releases.nodes} caption={title} />
        )
      ) : null}
      <Pager label="Releases" pageInfo={releases.data?.releases.pageInfo} page={pages.page} onNext={pages.next} onPrevious={pages.previous} />
    </>
  );
}
