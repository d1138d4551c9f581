import { once } from 'node:events';
import { type Writable } from 'node:stream';
import { type StructuredRecord } from '@synthgate/records';

/**
 * The stored values of one imported record. A new column of `sensitive_record` that an import
 * fills is one more property here and one more entry in `importColumns`.
 */
export interface ImportedRecordValues {
  readonly text: string;
  readonly label: string | null;
  /**
   * A structured dataset's typed values (checked against its schema); absent or null for a
   * text-and-label record. `text` is then the record as one JSON object, `label` its condition value.
   */
  readonly values?: StructuredRecord | null;
}

/** Where an import writes: the dataset and the import's own id, stamped on every row. */
export interface RecordImportTarget {
  readonly datasetId: string;
  readonly importId: string;
}

/**
 * An open import of records into one dataset, inside the caller's transaction. Rows are written
 * with `write`; `commit` sends the last of them and waits until PostgreSQL has them all; `abort`
 * cancels the COPY so that nothing of the import is kept (the transaction then rolls back).
 * After `abort`, `commit` fails and `write` is refused.
 */
export interface RecordImportSink {
  /** Queues one row; resolves at once, or once the connection has taken earlier rows (backpressure). */
  write(values: ImportedRecordValues): Promise<void>;
  /** Ends the COPY and waits for the database; resolves to the number of rows written. */
  commit(): Promise<number>;
  /** Cancels the COPY (idempotent, never throws). The transaction must then roll back. */
  abort(): void;
}

/** Escapes a value for COPY's text format: backslash, newline, carriage return and tab; null is `\N`. */
export function copyTextField(value: string | null): string {
  if (value === null) return '\\N';
  return value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** The columns an import fills after dataset_id and import_id, each with how its value is written. */
const importColumns: readonly { readonly column: string; readonly value: (values: ImportedRecordValues) => string | null }[] = [
  { column: 'text', value: (values) => values.text },
  { column: 'label', value: (values) => values.label },
  { column: '"values"', value: (values) => (values.values ? JSON.stringify(values.values) : null) },
];

/** The COPY statement of an import, naming its columns in the order `copyRecordLine` writes them. */
export const IMPORT_COPY_STATEMENT = `COPY sensitive_record (dataset_id, import_id, ${importColumns.map((c) => c.column).join(', ')}) FROM STDIN`;

/** One line of COPY text format for a record of a dataset. */
export function copyRecordLine(target: RecordImportTarget, values: ImportedRecordValues): string {
  const fields = [target.datasetId, target.importId, ...importColumns.map((c) => copyTextField(c.value(values)))];
  return `${fields.join('\t')}\n`;
}

/** Lines are batched into ~64 KB writes: one buffer per batch instead of one per row. */
const BATCH_CHARS = 64 * 1024;

/** A RecordImportSink over a COPY ... FROM STDIN stream (see SensitiveRecordRepository.openImport). */
export class CopyRecordImportSink implements RecordImportSink {
  private pending = '';
  private rows = 0;
  private aborted = false;
  /** commit was called: no more writes. */
  private ending = false;
  /** PostgreSQL has every row: nothing left to abort. */
  private finished = false;
  /** The first error of the COPY stream; later calls report it instead of waiting on a dead stream. */
  private failure: Error | null = null;

  constructor(
    private readonly copy: Writable,
    private readonly target: RecordImportTarget,
  ) {
    // Errors surface through write/commit; this keeps the stream's own error event (an aborted or
    // failed COPY) from escaping as an uncaught exception.
    copy.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  async write(values: ImportedRecordValues): Promise<void> {
    this.ensureOpen('write');
    this.pending += copyRecordLine(this.target, values);
    this.rows++;
    if (this.pending.length < BATCH_CHARS) return;
    const ok = this.copy.write(this.pending);
    this.pending = '';
    if (!ok) await this.drained();
  }

  async commit(): Promise<number> {
    this.ensureOpen('commit');
    this.ending = true;
    const finished = once(this.copy, 'finish');
    this.copy.end(this.pending);
    this.pending = '';
    await finished;
    this.finished = true;
    return this.rows;
  }

  abort(): void {
    if (this.aborted || this.finished) return;
    this.aborted = true;
    this.pending = '';
    this.copy.destroy(new Error('import aborted'));
  }

  private ensureOpen(operation: string): void {
    if (this.aborted) throw new Error(`cannot ${operation}: the import was aborted`);
    if (this.ending) throw new Error(`cannot ${operation}: the import was committed`);
    if (this.failure) throw this.failure;
  }

  private async drained(): Promise<void> {
    // `once` rejects if the stream errors while we wait; an error already seen is thrown at once.
    if (this.failure) throw this.failure;
    await once(this.copy, 'drain');
  }
}
