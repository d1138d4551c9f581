/** Synthetic examples per label, as a small table (the label `null` is an unlabelled dataset's). */
export function LabelTable({ rows }: { rows: readonly { label: string | null; examples: number | string }[] }) {
  return (
    <table className="compact">
      <caption>Examples per label</caption>
      <thead>
        <tr>
          <th scope="col">Label</th>
          <th scope="col">Examples</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.label ?? ''}>
            <th scope="row">{row.label ?? '(none)'}</th>
            <td>{row.examples}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
