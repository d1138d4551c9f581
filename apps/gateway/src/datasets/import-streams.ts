import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../gateway.errors';

/**
 * Fails the import once more than `maxBytes` have arrived, before reading the rest. As the first
 * stage after the upload it also tells how long the import has been waiting on the client.
 */
export class ByteLimit extends Transform {
  bytes = 0;
  private lastActivity = Date.now();

  constructor(private readonly maxBytes: number) {
    super();
  }

  /**
   * Milliseconds the import has waited on the client: since the last chunk arrived, counting only
   * time when nothing sits in this stage's buffers (when they hold data, the import itself, e.g.
   * a slow COPY, is what holds the upload back, not the client).
   */
  /** Starts the clock of {@link waitingOnClientFor} (when the import begins to read). */
  startClock(now = Date.now()): void {
    this.lastActivity = now;
  }

  waitingOnClientFor(now = Date.now()): number {
    if (this.writableLength > 0 || this.readableLength > 0) this.lastActivity = now;
    return now - this.lastActivity;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.lastActivity = Date.now();
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      callback(new DomainError('PAYLOAD_TOO_LARGE', `file: is larger than the import limit of ${this.maxBytes} bytes (IMPORT_MAX_BYTES)`));
      return;
    }
    callback(null, chunk);
  }
}

/**
 * Passes bytes through unchanged while checking they are valid UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF), counting lines so an error can name the line.
 * A UTF-8 byte order mark is allowed at the start.
 */
export class Utf8Validator extends Transform {
  private line = 1;
  /** Continuation bytes still expected for the current character. */
  private pending = 0;
  /** Bounds for the next continuation byte (tightened after some lead bytes). */
  private lower = 0x80;
  private upper = 0xbf;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.pending > 0) {
        if (byte < this.lower || byte > this.upper) return callback(this.invalid());
        this.lower = 0x80;
        this.upper = 0xbf;
        this.pending--;
        continue;
      }
      if (byte < 0x80) {
        if (byte === 0x0a) this.line++;
      } else if (byte >= 0xc2 && byte <= 0xdf) {
        this.pending = 1;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        this.pending = 2;
        if (byte === 0xe0) this.lower = 0xa0; // no overlong 3-byte forms
        if (byte === 0xed) this.upper = 0x9f; // no UTF-16 surrogates
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        this.pending = 3;
        if (byte === 0xf0) this.lower = 0x90; // no overlong 4-byte forms
        if (byte === 0xf4) this.upper = 0x8f; // nothing above U+10FFFF
      } else {
        return callback(this.invalid());
      }
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.pending > 0 ? this.invalid() : null);
  }

  private invalid(): DomainError {
    return new DomainError('BAD_USER_INPUT', `line ${this.line}: is not valid UTF-8; nothing was imported`, {
      field: 'file',
      problems: [{ field: 'file', line: this.line, rule: 'is not valid UTF-8' }],
      problemCount: 1,
    });
  }
}

/** A parsed row before validation: where it came from and its raw fields. */
export interface RawRow {
  readonly line: number;
  readonly text: unknown;
  readonly label: unknown;
  /** A structured dataset's row: every key (JSONL) or column (CSV) with its raw value. */
  readonly fields?: Readonly<Record<string, unknown>>;
}

/**
 * The longest line (JSON Lines) or record (CSV) an import accepts: room for a text of
 * `maxRecordChars` characters written entirely as `\uXXXX` escapes (6 characters each), plus
 * 64 KiB for the label and other fields. A longer one cannot hold a valid record, so it is refused
 * as soon as it passes this length, without buffering the rest of it.
 */
export function maxLineChars(maxRecordChars: number): number {
  return 6 * maxRecordChars + 64 * 1024;
}

/** The rule an over-long line or CSV record breaks. */
export function lineTooLong(maxChars: number): string {
  return `is longer than ${maxChars} characters (the limit is 6 x IMPORT_MAX_RECORD_CHARS + 65536)`;
}

/**
 * Splits JSON Lines into rows: one JSON object per line, blank lines skipped. A line that is not
 * a JSON object, or is longer than `maxLineChars`, becomes a row with a `parseError`, so the
 * import can report every bad line.
 *
 * Linear in the input: each decoded chunk is scanned for newlines once, and the unfinished line is
 * kept as a list of parts joined once when its newline arrives (re-scanning or re-slicing one
 * growing string made a 50 MB line take 14 s; see bench/jsonl-line.bench.ts).
 */
export class JsonLinesParser extends Transform {
  /** The unfinished line, in parts, and its length in characters. */
  private parts: string[] = [];
  private partsLength = 0;
  /** The unfinished line passed the cap: its parts are dropped until its newline. */
  private overlong = false;
  private line = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly textField: string,
    private readonly labelField: string | null,
    private readonly maxLineChars: number,
    /** Emit each object whole (`fields`), for a structured dataset, instead of its text and label. */
    private readonly wholeRecords = false,
  ) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.scan(this.decoder.decode(chunk, { stream: true }));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.scan(this.decoder.decode());
    if (this.partsLength > 0 || this.overlong) this.endLine('');
    callback();
  }

  private scan(text: string): void {
    let start = 0;
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.endLine(text.slice(start, newline));
      start = newline + 1;
      newline = text.indexOf('\n', start);
    }
    if (start < text.length) this.append(text.slice(start));
  }

  private append(part: string): void {
    if (this.overlong) return;
    this.partsLength += part.length;
    if (this.partsLength > this.maxLineChars) {
      this.overlong = true;
      this.parts = [];
      this.partsLength = 0;
      return;
    }
    this.parts.push(part);
  }

  private endLine(last: string): void {
    this.append(last);
    const overlong = this.overlong;
    const raw = overlong ? '' : this.parts.length === 1 ? this.parts[0]! : this.parts.join('');
    this.parts = [];
    this.partsLength = 0;
    this.overlong = false;
    this.line++;
    if (overlong) {
      this.push({ line: this.line, parseError: lineTooLong(this.maxLineChars) });
      return;
    }
    this.emitLine(raw);
  }

  private emitLine(raw: string): void {
    const text = this.line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim().length === 0) return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.push({ line: this.line, parseError: 'is not valid JSON' });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.push({ line: this.line, parseError: 'is not a JSON object' });
      return;
    }
    const record = value as Record<string, unknown>;
    if (this.wholeRecords) {
      this.push({ line: this.line, text: null, label: null, fields: record } satisfies RawRow);
      return;
    }
    this.push({ line: this.line, text: record[this.textField], label: this.labelField ? record[this.labelField] : null } satisfies RawRow);
  }
}
