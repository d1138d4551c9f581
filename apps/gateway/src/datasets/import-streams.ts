import { Transform, type TransformCallback } from 'node:stream';
import { DomainError } from '../gateway.errors';

/** Fails the import once more than `maxBytes` have arrived, before reading the rest. */
export class ByteLimit extends Transform {
  bytes = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
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
}

/**
 * Splits JSON Lines into rows: one JSON object per line, blank lines skipped. A line that is not
 * a JSON object becomes a row with a `parseError`, so the import can report every bad line.
 */
export class JsonLinesParser extends Transform {
  private buffer = '';
  private line = 0;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly textField: string,
    private readonly labelField: string | null,
  ) {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = this.buffer.indexOf('\n', start);
    while (newline !== -1) {
      this.emitLine(this.buffer.slice(start, newline));
      start = newline + 1;
      newline = this.buffer.indexOf('\n', start);
    }
    this.buffer = this.buffer.slice(start);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.buffer += this.decoder.decode();
    if (this.buffer.length > 0) this.emitLine(this.buffer);
    callback();
  }

  private emitLine(raw: string): void {
    this.line++;
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
    this.push({ line: this.line, text: record[this.textField], label: this.labelField ? record[this.labelField] : null } satisfies RawRow);
  }
}
