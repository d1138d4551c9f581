import { useState } from 'react';
import { downloadExport, graphql } from '../api/client';
import { RELEASE_RECORDS, type ReleaseRecordsResult } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Pager, useCursorPages } from '../components/pager';
import { useAction, useAsync } from '../hooks';
import { useSession } from '../session';

export const RECORDS_PAGE_SIZE = 10;

/** Pages through a release's synthetic records, optionally of one label, and exports them all. */
export function RecordBrowser({ releaseId, labels }: { releaseId: string; labels: (string | null)[] }) {
  const { token } = useSession();
  const [label, setLabel] = useState('');
  const pages = useCursorPages();
  // The answer carries the label it was asked for: while the next page loads, the table and its
  // caption keep describing what is on screen.
  const records = useAsync(
    async () => ({
      label,
      result: await graphql<ReleaseRecordsResult>(token, RELEASE_RECORDS, { id: releaseId, first: RECORDS_PAGE_SIZE, after: pages.after, label: label === '' ? null : label }),
    }),
    `records:${releaseId}:${label}:${pages.after}`,
  );
  const exporting = useAction((format: 'jsonl' | 'csv') => downloadExport(token, releaseId, format));
  const named = labels.filter((entry): entry is string => entry !== null);
  const nodes = records.data?.result.release.records.nodes ?? [];
  const shownLabel = records.data?.label ?? '';

  return (
    <section aria-labelledby="records-heading">
      <h2 id="records-heading">Synthetic records</h2>
      <div className="toolbar">
        {named.length > 0 ? (
          <div className="field">
            <label htmlFor="label-filter">Label</label>
            <select
              id="label-filter"
              value={label}
              onChange={(event) => {
                setLabel(event.target.value);
                pages.reset();
              }}
            >
              <option value="">All labels</option>
              {named.map((entry) => (
                <option key={entry} value={entry}>
                  {entry}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div className="actions" role="group" aria-label="Export every record">
          <button type="button" onClick={() => void exporting.run('jsonl')} disabled={exporting.busy}>
            Export JSONL
          </button>
          <button type="button" onClick={() => void exporting.run('csv')} disabled={exporting.busy}>
            Export CSV
          </button>
        </div>
      </div>
      <ErrorMessage error={exporting.error} context="The export failed" />
      <ErrorMessage error={records.error} context="Could not load the records" />
      {records.loading && !records.data ? <Loading what="records" /> : null}
      {records.data ? (
        nodes.length === 0 ? (
          <p>No records{shownLabel ? ` with label ${shownLabel}` : ''}.</p>
        ) : (
          <div className="table-wrap">
            <table className="records" aria-busy={records.loading}>
              <caption className="visually-hidden">Synthetic records{shownLabel ? ` with label ${shownLabel}` : ''}</caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Label</th>
                  <th scope="col">Text</th>
                </tr>
              </thead>
              <tbody>
                {nodes.map((record) => (
                  <tr key={record.ordinal}>
                    <th scope="row">{record.ordinal}</th>
                    <td>{record.label ?? <span className="muted">none</span>}</td>
                    <td className="record-text">{record.text}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )
      ) : null}
      <Pager label="Records" pageInfo={records.data?.result.release.records.pageInfo} page={pages.page} onNext={pages.next} onPrevious={pages.previous} />
    </section>
  );
}
