import { useState } from 'react';
import { graphql } from '../api/client';
import { ADD_DATASET_LABELS, type AddDatasetLabelsResult } from '../api/operations';
import { ErrorMessage } from '../components/error-message';
import { useAction } from '../hooks';
import { useSession } from '../session';

/**
 * The declared labels of a labelled dataset, and (for its DATA_OWNER) a field to declare more.
 * Labels are public schema: an import with a label not declared here is refused (UNDECLARED_LABEL),
 * and releases generate declared labels only. A declared label is never removed.
 */
export function DeclaredLabels({ datasetId, labels, derivedFromData, canDeclare, onChange }: {
  datasetId: string;
  labels: string[];
  derivedFromData: boolean;
  canDeclare: boolean;
  onChange(labels: string[]): void;
}) {
  const { token } = useSession();
  const [text, setText] = useState('');
  const declare = useAction((added: string[]) => graphql<AddDatasetLabelsResult>(token, ADD_DATASET_LABELS, { input: { id: datasetId, addLabels: added } }));
  const added = text.split(',').map((label) => label.trim()).filter((label) => label.length > 0);

  const submit = async () => {
    const result = await declare.run(added);
    if (result?.updateDataset) {
      setText('');
      onChange(result.updateDataset.labels);
    }
  };

  return (
    <section className="card" aria-labelledby="labels-heading">
      <h2 id="labels-heading">Declared labels</h2>
      {labels.length === 0 ? <p>No label declared yet: an import of labelled records is refused until you declare their labels.</p> : (
        <ul className="published" aria-label="Declared labels">
          {labels.map((label) => (
            <li key={label}>{label}</li>
          ))}
        </ul>
      )}
      {derivedFromData ? (
        <p className="warnings">
          These labels were taken from the imported records before labels were declared; releases made before the upgrade released them outside the privacy guarantee.
        </p>
      ) : null}
      {canDeclare ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            void submit();
          }}
        >
          <div className="field">
            <label htmlFor="add-labels">Declare more labels (comma-separated)</label>
            <input id="add-labels" value={text} onChange={(event) => setText(event.target.value)} placeholder="billing, hardware" />
          </div>
          <button type="submit" disabled={declare.busy || added.length === 0}>
            Declare labels
          </button>
          <ErrorMessage error={declare.error} context="Could not declare the labels" />
        </form>
      ) : null}
    </section>
  );
}
