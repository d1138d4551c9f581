import { useState } from 'react';
import { downloadExport, type ExportFormat, graphql } from '../api/client';
import { RELEASE_RECORDS, type ReleaseRecordsResult, type SyntheticRecord } from '../api/operations';
import { ErrorMessage, Loading } from '../components/error-message';
import { Pager, useCursorPages } from '../components/pager';
import { useAction, useAsync } from '../hooks';
import { useSession } from '../session';

export const RECORDS_PAGE_SIZE = 10;

const exportButtons: readonly [ExportFormat, string, string][] = [
  ['jsonl', 'Export JSONL', 'JSON Lines, one object per record'],
  ['csv', 'Export CSV', 'CSV, one column per field'],
  ['parquet', 'Export Parquet', 'Parquet, typed columns from the record schema'],
  ['zip', 'Download bundle', 'A zip: the Parquet file with a Hugging Face dataset card (README.md) and the schema'],
];

/** One cell of a structured record: numbers right-aligned, booleans in words, a missing value marked. */
function FieldCell({ value }: { value: SyntheticRecord['values'][string] | undefined }) {
  if (value === null || value === undefined) return <td><span className="muted">none</span></td>;
  if (typeof value === 'number') return <td className="number">{value}</td>;
  if (typeof value === 'boolean') return <td>{value ? 'true' : 'false'}</td>;
  return <td className="record-text">{value}</td>;
}

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
  const exporting = useAction((format: ExportFormat) => downloadExport(token, releaseId, format));
  const named = labels.filter((entry): entry is string => entry !== null);
  const nodes = records.data?.result.release.records.nodes ?? [];
  const shownLabel = records.data?.label ?? '';
  const release = records.data?.result.release;
  // A structured release: one column per field of its schema, in schema order.
  const fields = release?.structured ? release.recordSchema.fields : null;

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
          {exportButtons.map(([format, text, title]) => (
            <button key={format} type="button" title={title} onClick={() => void exporting.run(format)} disabled={exporting.busy}>
              {text}
            </button>
          ))}
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
                  {fields ? (
                    fields.map((field) => (
                      <th key={field.name} scope="col" title={field.kind.toLowerCase()}>
                        {field.name}
                      </th>
                    ))
                  ) : (
                    <>
                      <th scope="col">Label</th>
                      <th scope="col">Text</th>
                    </>
                  )}
                </tr>
              </thead>
              <tbody>
                {nodes.map((record) => (
                  <tr key={record.ordinal}>
                    <th scope="row">{record.ordinal}</th>
                    {fields ? (
                      fields.map((field) => <FieldCell key={field.name} value={Object.prototype.hasOwnProperty.call(record.values, field.name) ? record.values[field.name] : null} />)
                    ) : (
                      <>
                        <td>{record.label ?? <span className="muted">none</span>}</td>
                        <td className="record-text">{record.text}</td>
                      </>
                    )}
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
