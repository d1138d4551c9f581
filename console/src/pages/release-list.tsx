import { type ReleaseSummary } from '../api/operations';
import { StatusBadge } from '../components/status-badge';
import { formatCostEpsilon, formatTime } from '../format';
import { Link } from '../router';

/** A table of releases; the dataset column is left out where the page is about one dataset. */
export function ReleaseTable({ releases, showDataset = true, caption }: { releases: ReleaseSummary[]; showDataset?: boolean; caption: string }) {
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Release</th>
            {showDataset ? <th scope="col">Dataset</th> : null}
            <th scope="col">Status</th>
            <th scope="col">Examples</th>
            <th scope="col">ε cost</th>
            <th scope="col">Requested</th>
            <th scope="col">Finished</th>
          </tr>
        </thead>
        <tbody>
          {releases.map((release) => (
            <tr key={release.id}>
              <th scope="row">
                <Link to={`/releases/${release.id}`} aria-label={`Release ${release.id} of ${release.datasetName}`}>
                  <code>{release.id.slice(0, 8)}</code>
                </Link>
              </th>
              {showDataset ? <td>{release.datasetName}</td> : null}
              <td>
                <StatusBadge status={release.status} />
                {release.progress && (release.status === 'RUNNING' || release.status === 'QUEUED') ? (
                  <span className="muted">
                    {' '}
                    {release.progress.batchesDone} / {release.progress.batchesTotal}
                  </span>
                ) : null}
              </td>
              <td>{release.batchCount}</td>
              <td>
                {formatCostEpsilon(release.cost)} <span className="muted">(δ {release.cost.delta})</span>
              </td>
              <td>{formatTime(release.createdAt)}</td>
              <td>{formatTime(release.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
