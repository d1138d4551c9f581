import { Writable } from 'node:stream';
import { copyRecordLine, copyTextField, CopyRecordImportSink, IMPORT_COPY_STATEMENT } from './record-import-sink';

const target = { datasetId: '11111111-1111-1111-1111-111111111111', importId: '22222222-2222-2222-2222-222222222222' };

/** An in-memory COPY destination: collects what it is sent, slowly when `highWaterMark` is small. */
class CollectingStream extends Writable {
  readonly chunks: string[] = [];

  constructor(
    highWaterMark = 16 * 1024,
    private readonly failOn: ((chunk: string) => boolean) | null = null,
  ) {
    super({ highWaterMark, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.failOn?.(chunk)) return callback(new Error('COPY refused the row'));
    this.chunks.push(chunk);
    setImmediate(callback);
  }
}

describe('COPY text format', () => {
  it('escapes backslash, newline, carriage return and tab, and writes null as \\N', () => {
    expect(copyTextField('a\\b\nc\rd\te')).toBe('a\\\\b\\nc\\rd\\te');
    expect(copyTextField(null)).toBe('\\N');
    expect(copyTextField('plain "quoted", text')).toBe('plain "quoted", text');
  });

  it('writes one line per record, in the order of the COPY statement', () => {
    expect(IMPORT_COPY_STATEMENT).toBe('COPY sensitive_record (dataset_id, import_id, text, label, "values") FROM STDIN');
    expect(copyRecordLine(target, { text: 'a\tb', label: null })).toBe(`${target.datasetId}\t${target.importId}\ta\\tb\t\\N\t\\N\n`);
    expect(copyRecordLine(target, { text: 'x', label: 'pos' })).toBe(`${target.datasetId}\t${target.importId}\tx\tpos\t\\N\n`);
  });

  it('writes a structured record\'s values as JSON, its backslashes escaped for COPY', () => {
    const values = { message: 'a "b"\\c', priority: 2, urgent: null };
    expect(copyRecordLine(target, { text: 't', label: 'p', values })).toBe(
      `${target.datasetId}\t${target.importId}\tt\tp\t{"message":"a \\\\"b\\\\"\\\\\\\\c","priority":2,"urgent":null}\n`,
    );
  });
});

describe('CopyRecordImportSink', () => {
  it('batches rows into large writes and sends every row on commit', async () => {
    const stream = new CollectingStream();
    const sink = new CopyRecordImportSink(stream, target);
    const rows = 5000;
    for (let i = 0; i < rows; i++) await sink.write({ text: `record ${i} ${'x'.repeat(40)}`, label: i % 2 === 0 ? 'even' : null });
    expect(await sink.commit()).toBe(rows);
    const lines = stream.chunks.join('').split('\n').slice(0, -1);
    expect(lines).toHaveLength(rows);
    expect(lines[0]).toBe(copyRecordLine(target, { text: `record 0 ${'x'.repeat(40)}`, label: 'even' }).slice(0, -1));
    expect(lines[rows - 1]).toBe(copyRecordLine(target, { text: `record ${rows - 1} ${'x'.repeat(40)}`, label: null }).slice(0, -1));
    // ~650 KB in 64 KB batches: about ten writes, not one per row.
    const total = stream.chunks.join('').length;
    expect(stream.chunks.length).toBeLessThanOrEqual(Math.ceil(total / (64 * 1024)));
    for (const chunk of stream.chunks.slice(0, -1)) expect(chunk.length).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('waits for the stream to drain when it is full (backpressure)', async () => {
    const stream = new CollectingStream(1024);
    const sink = new CopyRecordImportSink(stream, target);
    let drains = 0;
    stream.on('drain', () => drains++);
    for (let i = 0; i < 3000; i++) await sink.write({ text: `row ${i} ${'y'.repeat(60)}`, label: null });
    expect(stream.writableLength).toBe(0);
    expect(drains).toBeGreaterThan(0);
    expect(await sink.commit()).toBe(3000);
  });

  it('abort destroys the stream, sends nothing pending, and refuses further writes and the commit', async () => {
    const stream = new CollectingStream();
    const sink = new CopyRecordImportSink(stream, target);
    await sink.write({ text: 'kept nowhere', label: null });
    sink.abort();
    sink.abort();
    expect(stream.destroyed).toBe(true);
    expect(stream.chunks).toEqual([]);
    await expect(sink.write({ text: 'late', label: null })).rejects.toThrow('cannot write: the import was aborted');
    await expect(sink.commit()).rejects.toThrow('cannot commit: the import was aborted');
  });

  it('reports a failed COPY on the next call instead of waiting on a dead stream', async () => {
    const stream = new CollectingStream(1024, (chunk) => chunk.includes('bad row'));
    const sink = new CopyRecordImportSink(stream, target);
    await sink.write({ text: `bad row ${'z'.repeat(70 * 1024)}`, label: null }).catch(() => undefined);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(sink.write({ text: 'next', label: null })).rejects.toThrow('COPY refused the row');
    await expect(sink.commit()).rejects.toThrow('COPY refused the row');
  });

  it('a failed commit rejects with the stream error', async () => {
    const stream = new CollectingStream(16 * 1024, (chunk) => chunk.includes('refused at the end'));
    const sink = new CopyRecordImportSink(stream, target);
    await sink.write({ text: 'refused at the end', label: null });
    await expect(sink.commit()).rejects.toThrow('COPY refused the row');
  });
});
