import { randomUUID } from 'node:crypto';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import { AccessError, type Actor, defineAbilityFor, subject } from '@synthgate/access';
import { SYNTHGATE_CONFIG, type SynthgateConfig } from '@synthgate/config';
import { Database, type ImportedRecordValues } from '@synthgate/persistence';
import { type RecordSchema } from '@synthgate/records';
import { type CsvError, parse as parseCsv } from 'csv-parse';
import { AuditService } from '../audit/audit.service';
import { DomainError, type Problem } from '../gateway.errors';
import { ImportSlots } from './import-slots';
import { ByteLimit, JsonLinesParser, lineTooLong, maxLineChars, type RawRow, Utf8Validator } from './import-streams';
import { checkStructuredRow, StructuredCsvRows } from './structured-import';

export type ImportFormat = 'csv' | 'jsonl';

export interface ImportResult {
  readonly importId: string;
  readonly datasetId: string;
  readonly imported: number;
  readonly recordCount: number;
  readonly labels: readonly string[];
}

/** Problems listed in full in an error; the rest are counted. */
const MAX_LISTED_PROBLEMS = 20;
const MAX_LABEL_LENGTH = 200;

type ParsedRow = RawRow | { readonly line: number; readonly parseError: string };

/** Collects problems: the first few in full, all of them counted. */
class ProblemList {
  readonly listed: Problem[] = [];
  count = 0;
  undeclaredLabels = 0;

  add(problem: Problem): void {
    this.count++;
    if (problem.code === 'UNDECLARED_LABEL') this.undeclaredLabels++;
    if (this.listed.length < MAX_LISTED_PROBLEMS) this.listed.push(problem);
  }
}

/**
 * Turns CSV records (arrays) into rows: the first record is the header, which must name the
 * text field (and the label field of a labelled dataset).
 */
class CsvRows extends Transform {
  private textIndex = -1;
  private labelIndex = -1;
  private columns = 0;

  constructor(
    private readonly textField: string,
    private readonly labelField: string | null,
  ) {
    super({ objectMode: true });
  }

  override _transform(chunk: { record: string[]; info: { lines: number } }, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { record, info } = chunk;
    if (this.columns === 0) {
      const header = record.map((name, index) => (index === 0 ? name.replace(/^\uFEFF/, '') : name).trim());
      this.columns = header.length;
      this.textIndex = header.indexOf(this.textField);
      this.labelIndex = this.labelField ? header.indexOf(this.labelField) : -1;
      if (this.textIndex === -1) return callback(headerError(`has no column "${this.textField}" (the dataset's text field)`));
      if (this.labelField && this.labelIndex === -1) return callback(headerError(`has no column "${this.labelField}" (the dataset's label field)`));
      return callback();
    }
    if (record.length !== this.columns) {
      this.push({ line: info.lines, parseError: `has ${record.length} fields; the header has ${this.columns}` });
      return callback();
    }
    this.push({ line: info.lines, text: record[this.textIndex], label: this.labelIndex >= 0 ? record[this.labelIndex] : null } satisfies RawRow);
    callback();
  }
}

function headerError(rule: string): DomainError {
  return new DomainError('BAD_USER_INPUT', `line 1: the header ${rule}; nothing was imported`, {
    field: 'file',
    problems: [{ field: 'header', line: 1, rule: `the header ${rule}` }],
    problemCount: 1,
  });
}

/**
 * Imports records into a dataset, all or nothing. The file is streamed (never held in memory):
 * bytes are limited and checked as UTF-8, parsed, validated row by row and written to the records'
 * import sink (`records.openImport`, PostgreSQL COPY) inside one transaction that holds the
 * dataset's row lock. This service parses and validates; the sink owns escaping, batching,
 * backpressure and cancelling. A bad file imports nothing; the error names the first 20 problems
 * by line and rule, then counts the rest.
 *
 * `upload` aborts the import (the sink is aborted, the transaction rolls back, the lock and the
 * connection are released) the moment the caller's upload fails: a client that disconnects, or a
 * multipart form cut off before its closing boundary. Its reason becomes the import's error. An
 * upload that sends nothing for IMPORT_STALL_TIMEOUT_SECONDS is aborted the same way.
 * At most IMPORT_MAX_CONCURRENT imports run at once, IMPORT_MAX_CONCURRENT_PER_ORGANIZATION per
 * organisation; more are refused with TOO_MANY_IMPORTS.
 */
@Injectable()
export class RecordImportService {
  private readonly slots: ImportSlots;

  constructor(
    private readonly database: Database,
    private readonly audit: AuditService,
    @Inject(SYNTHGATE_CONFIG) private readonly config: SynthgateConfig,
  ) {
    this.slots = new ImportSlots(config.importLimits.maxConcurrent, config.importLimits.maxConcurrentPerOrganization);
  }

  async import(actor: Actor, datasetId: string, source: Readable, format: ImportFormat, upload: AbortSignal): Promise<ImportResult> {
    const importId = randomUUID();
    const dataset = await this.database.repositories.datasets.findById(datasetId);
    if (!dataset || !defineAbilityFor(actor).can('import', subject('SensitiveRecord', { organizationId: dataset.organizationId }))) {
      throw AccessError.notFound('dataset', datasetId);
    }
    if (dataset.archivedAt) throw DomainError.conflict(`dataset ${dataset.id} is archived; nothing was imported`);
    const limiter = new ByteLimit(this.config.importLimits.maxBytes);
    let releaseSlot = (): void => undefined;
    const stall = new AbortController();
    const aborted = AbortSignal.any([upload, stall.signal]);
    let stopWatching = (): void => undefined;
    try {
      releaseSlot = this.slots.acquire(dataset.organizationId);
      aborted.throwIfAborted();
      const result = await this.database.transaction(async (repositories) => {
        const locked = (await repositories.datasets.lockForUpdate(dataset.id))!;
        if (locked.archivedAt) throw DomainError.conflict(`dataset ${dataset.id} is archived; nothing was imported`);
        const sink = await repositories.records.openImport({ datasetId: dataset.id, importId });
        const problems = new ProblemList();
        // Labels are public schema, declared by the owner: a record with any other label is refused.
        const declaredLabels = new Set(locked.labels);
        let rows = 0;
        let refused = false;
        const maxChars = this.config.importLimits.maxRecordChars;
        // A structured record may hold several texts: its line may be as long as all of them.
        const schema = locked.recordSchema;
        const structured = locked.structured;
        const lineChars = maxLineChars(structured ? structuredRecordChars(schema, maxChars) : maxChars);
        const labelled = dataset.labelField !== null;
        const textField = dataset.textField;
        const labelField = dataset.labelField ?? '';
        // The clock starts once the lock is held: waiting for another import's lock is not a stall.
        stopWatching = watchForStall(limiter, this.config.importLimits.stallTimeoutSeconds * 1000, stall);
        try {
          const consume = async (parsed: AsyncIterable<ParsedRow>): Promise<void> => {
            for await (const row of parsed) {
              let rowProblems: Problem[];
              let values: ImportedRecordValues | null = null;
              if ('parseError' in row) {
                rowProblems = [{ field: 'line', line: row.line, rule: row.parseError }];
              } else if (structured) {
                const checked = checkStructuredRow(schema, row, format === 'csv' ? 'csv' : 'json', maxChars);
                rowProblems = 'problems' in checked ? checked.problems : [];
                values = 'values' in checked ? checked.values : null;
              } else {
                const problem = validateRow(row, textField, labelled ? labelField : null, maxChars, declaredLabels);
                rowProblems = problem ? [problem] : [];
                values = problem ? null : { text: row.text as string, label: labelled ? labelValue(row.label) : null };
              }
              if (rowProblems.length > 0) {
                for (const problem of rowProblems) problems.add(problem);
                if (!refused) {
                  // Nothing of a bad file is kept: abort the import now, keep reading to report every problem.
                  refused = true;
                  sink.abort();
                }
                continue;
              }
              if (refused) continue;
              rows++;
              await sink.write(values!);
            }
          };
          if (format === 'csv') {
            const csv = parseCsv({
              info: true,
              bom: true,
              relax_column_count: true,
              skip_empty_lines: true,
              skip_records_with_error: true,
              max_record_size: lineChars,
              on_skip: (error?: CsvError) => {
                if (error) problems.add(csvProblem(error, lineChars));
                return undefined;
              },
            });
            await pipeline(source, limiter, new Utf8Validator(), csv, structured ? new StructuredCsvRows(schema) : new CsvRows(textField, dataset.labelField), consume, { signal: aborted });
          } else {
            await pipeline(source, limiter, new Utf8Validator(), new JsonLinesParser(textField, dataset.labelField, lineChars, structured), consume, { signal: aborted });
          }
        } catch (error) {
          sink.abort();
          // A failed upload shows up as whichever stream broke first; its own reason says what happened.
          if (aborted.aborted) throw aborted.reason;
          if (isCsvError(error)) {
            problems.add(csvProblem(error, lineChars));
            throw problemsError(problems);
          }
          throw error;
        } finally {
          // The whole upload has been read: what follows (COPY's end, the commit) waits on the database.
          stopWatching();
        }
        if (problems.count > 0) {
          // CSV errors reported through on_skip reach here with the import still open.
          sink.abort();
          throw problemsError(problems);
        }
        if (rows === 0) {
          sink.abort();
          throw new DomainError('BAD_USER_INPUT', 'file: contains no records; nothing was imported', {
            field: 'file',
            problems: [{ field: 'file', rule: 'contains no records' }],
            problemCount: 1,
          });
        }
        await sink.commit();
        await repositories.datasets.addImported(dataset.id, rows);
        await this.audit.record(
          actor,
          {
            action: 'records.import',
            outcome: 'SUCCESS',
            subjectType: 'Dataset',
            subjectId: dataset.id,
            organizationId: dataset.organizationId,
            details: { importId, format, rows, bytes: limiter.bytes },
          },
          repositories,
        );
        return { importId, datasetId: dataset.id, imported: rows, recordCount: locked.recordCount + rows, labels: locked.labels };
      });
      return result;
    } catch (error) {
      // The import is over (rolled back): its slot is free before the audit write, not after.
      releaseSlot();
      await this.audit.record(actor, {
        action: 'records.import',
        outcome: 'FAILURE',
        subjectType: 'Dataset',
        subjectId: dataset.id,
        organizationId: dataset.organizationId,
        details: {
          importId,
          format,
          bytes: limiter.bytes,
          code: error instanceof DomainError ? error.code : 'INTERNAL_SERVER_ERROR',
          problemCount: error instanceof DomainError ? (error.details.problemCount ?? null) : null,
        },
      });
      throw error;
    } finally {
      stopWatching();
      releaseSlot();
    }
  }
}

/** The most characters of a structured record's texts: each text field's maxChars, or `defaultMaxChars`. */
function structuredRecordChars(schema: RecordSchema, defaultMaxChars: number): number {
  const texts = schema.fields.map((field) => (field.type.kind === 'text' ? (field.type.maxChars ?? defaultMaxChars) : 0));
  return Math.max(defaultMaxChars, texts.reduce((sum, chars) => sum + chars, 0));
}

/** Aborts `stall` once the import has waited on its client for `timeoutMs`; returns the stop. */
function watchForStall(limiter: ByteLimit, timeoutMs: number, stall: AbortController): () => void {
  limiter.startClock();
  const timer = setInterval(
    () => {
      if (limiter.waitingOnClientFor() < timeoutMs) return;
      const seconds = Math.round(timeoutMs / 1000);
      stall.abort(DomainError.badInput('file', `the upload sent nothing for ${seconds} s (IMPORT_STALL_TIMEOUT_SECONDS); nothing was imported`));
    },
    Math.min(1000, timeoutMs / 4),
  );
  timer.unref();
  return () => clearInterval(timer);
}

function labelValue(value: unknown): string {
  return typeof value === 'number' ? String(value) : (value as string).trim();
}

/** Checks one row against the dataset's rules (its label among `declaredLabels` when given); returns its problem, or null. */
export function validateRow(row: RawRow, textField: string, labelField: string | null, maxChars: number, declaredLabels: ReadonlySet<string> | null = null): Problem | null {
  const { line, text, label } = row;
  if (text === undefined || text === null) return { field: textField, line, rule: `has no "${textField}"` };
  if (typeof text !== 'string') return { field: textField, line, rule: `"${textField}" must be a string` };
  if (text.trim().length === 0) return { field: textField, line, rule: `"${textField}" is empty` };
  if (text.length > maxChars) return { field: textField, line, rule: `"${textField}" is longer than ${maxChars} characters (IMPORT_MAX_RECORD_CHARS)` };
  if (text.includes('\u0000')) return { field: textField, line, rule: `"${textField}" contains a NUL character` };
  if (labelField === null) return null;
  if (label === undefined || label === null) return { field: labelField, line, rule: `has no "${labelField}" (the dataset is labelled)` };
  if (typeof label !== 'string' && typeof label !== 'number') return { field: labelField, line, rule: `"${labelField}" must be a string` };
  // JSON.parse reads 1e999 as Infinity, which would become the label "Infinity".
  if (typeof label === 'number' && !Number.isFinite(label)) return { field: labelField, line, rule: `"${labelField}" must be a string or a finite number` };
  const labelText = labelValue(label);
  if (labelText.length === 0) return { field: labelField, line, rule: `"${labelField}" is empty (the dataset is labelled)` };
  if (labelText.length > MAX_LABEL_LENGTH) return { field: labelField, line, rule: `"${labelField}" is longer than ${MAX_LABEL_LENGTH} characters` };
  if (labelText.includes('\u0000')) return { field: labelField, line, rule: `"${labelField}" contains a NUL character` };
  if (declaredLabels !== null && !declaredLabels.has(labelText)) {
    return { field: labelField, line, rule: `label "${labelText}" is not declared for this dataset (declare it with updateDataset addLabels)`, code: 'UNDECLARED_LABEL' };
  }
  return null;
}

/**
 * What each csv-parse error means, in words that never quote the record: csv-parse's own messages
 * echo the field's text (e.g. `value is "..."`), which must not reach a response or a log.
 */
const csvRules: Readonly<Record<string, string>> = {
  INVALID_OPENING_QUOTE: 'has a quote inside an unquoted field (quote the whole field and double the quotes inside it)',
  CSV_INVALID_CLOSING_QUOTE: 'has a character right after a closing quote (a quote inside a quoted field must be doubled)',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'has a character right after a closing quote (a quote inside a quoted field must be doubled)',
  CSV_QUOTE_NOT_CLOSED: 'opens a quote that is never closed',
  CSV_RECORD_INCONSISTENT_FIELDS_LENGTH: 'has a different number of fields than the header',
  CSV_RECORD_INCONSISTENT_COLUMNS: 'has a different number of fields than the header',
};

function isCsvError(error: unknown): error is CsvError {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && (error.code.startsWith('CSV_') || error.code in csvRules);
}

function csvProblem(error: CsvError, maxChars: number): Problem {
  const line = (error as CsvError & { lines?: number }).lines;
  const rule = error.code === 'CSV_MAX_RECORD_SIZE' ? lineTooLong(maxChars) : (csvRules[error.code] ?? 'is not valid CSV');
  return { field: 'line', ...(typeof line === 'number' && line > 0 ? { line } : {}), rule };
}

function problemsError(problems: ProblemList): DomainError {
  const shown = problems.listed.map((p) => `${p.line !== undefined ? `line ${p.line}: ` : ''}${p.rule}`).join('; ');
  const more = problems.count > problems.listed.length ? `; and ${problems.count - problems.listed.length} more` : '';
  // An import refused only for labels the owner has not declared says so in its code.
  const code = problems.undeclaredLabels === problems.count ? 'UNDECLARED_LABEL' : 'BAD_USER_INPUT';
  return new DomainError(code, `file: ${problems.count} problem${problems.count === 1 ? '' : 's'}, nothing was imported: ${shown}${more}`, {
    field: 'file',
    problems: problems.listed,
    problemCount: problems.count,
  });
}
