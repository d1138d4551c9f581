import { type RecordFieldSummary } from '../api/operations';

/** What a field's values may be, in words. */
function rule(field: RecordFieldSummary): string {
  switch (field.kind) {
    case 'TEXT':
      return `free text, at most ${field.maxTokens} tokens`;
    case 'CATEGORY':
      return `one of ${(field.values ?? []).join(', ')}`;
    case 'INTEGER':
      return `whole number from ${field.min} to ${field.max}`;
    case 'NUMBER':
      return `number from ${field.min} to ${field.max}, ${field.decimals} decimal${field.decimals === 1 ? '' : 's'}`;
    case 'BOOLEAN':
      return 'true or false';
  }
}

/**
 * The declared record schema of a structured dataset (public metadata): one row per field, in the
 * order records are imported as columns and exported.
 */
export function RecordSchemaTable({ fields, conditionField }: { fields: RecordFieldSummary[]; conditionField: string | null }) {
  return (
    <section className="card" aria-labelledby="schema-heading">
      <h2 id="schema-heading">Record schema</h2>
      <p className="muted">CSV columns and JSON Lines keys are these fields; an import with any other column or value is refused whole.</p>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Fields of the record schema</caption>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Type</th>
              <th scope="col">Values</th>
              <th scope="col">Optional</th>
            </tr>
          </thead>
          <tbody>
            {fields.map((field) => (
              <tr key={field.name}>
                <th scope="row">
                  <code>{field.name}</code>
                  {field.name === conditionField ? <span className="muted"> (batches per value)</span> : null}
                </th>
                <td>{field.kind.toLowerCase()}</td>
                <td>{rule(field)}</td>
                <td>{field.optional ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
