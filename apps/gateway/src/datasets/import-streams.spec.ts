import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JsonLinesParser, maxLineChars } from './import-streams';

/** Runs `chunks` through a parser (text field "text", label field "label") and collects its rows. */
async function parse(chunks: (string | Buffer)[], maxChars: number): Promise<unknown[]> {
  const rows: unknown[] = [];
  await pipeline(
    Readable.from(chunks.map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk))),
    new JsonLinesParser('text', 'label', maxChars),
    new Writable({
      objectMode: true,
      write: (row, _encoding, callback) => {
        rows.push(row);
        callback();
      },
    }),
  );
  return rows;
}

const tooLong = (max: number) => `is longer than ${max} characters (the limit is 6 x IMPORT_MAX_RECORD_CHARS + 65536)`;

describe('JsonLinesParser', () => {
  it('allows 6 characters per record character plus 64 KiB on a line', () => {
    expect(maxLineChars(1000)).toBe(71_536);
    expect(maxLineChars(20_000)).toBe(185_536);
  });

  it('joins a line split over many chunks, including inside a multi-byte character', async () => {
    const line = Buffer.from('{"text": "caf\u00e9 \u65e5\u672c", "label": "a"}\n{"text": "two", "label": 2}');
    const chunks = Array.from({ length: line.length }, (_, i) => line.subarray(i, i + 1));
    expect(await parse(chunks, 100)).toEqual([
      { line: 1, text: 'caf\u00e9 \u65e5\u672c', label: 'a' },
      { line: 2, text: 'two', label: 2 },
    ]);
  });

  it('refuses a line one character over the cap by its number, accepts one at the cap, and goes on', async () => {
    const atCap = `{"text": "${'x'.repeat(40 - 26)}", "label": "a"}`;
    expect(atCap).toHaveLength(40);
    const overCap = `{"text": "${'x'.repeat(41 - 26)}", "label": "a"}`;
    const rows = await parse([`${atCap}\n${overCap.slice(0, 20)}`, `${overCap.slice(20)}\n\n{"text": "after", "label": "b"}\n`], 40);
    expect(rows).toEqual([
      { line: 1, text: 'x'.repeat(14), label: 'a' },
      { line: 2, parseError: tooLong(40) },
      { line: 4, text: 'after', label: 'b' },
    ]);
  });

  it('refuses an over-long last line with no newline, and a BOM starts only the first line', async () => {
    expect(await parse(['\uFEFF{"text": "a", "label": "b"}\n', 'y'.repeat(30), 'y'.repeat(30)], 50)).toEqual([
      { line: 1, text: 'a', label: 'b' },
      { line: 2, parseError: tooLong(50) },
    ]);
  });

  it('keeps only the cap of an endless line in memory: 8 MB arrive, the row is refused, not buffered', async () => {
    const chunk = 'z'.repeat(64 * 1024);
    const rows = await parse([...Array.from({ length: 128 }, () => chunk), '\n{"text": "ok", "label": "a"}'], 1000);
    expect(rows).toEqual([
      { line: 1, parseError: tooLong(1000) },
      { line: 2, text: 'ok', label: 'a' },
    ]);
  });
});
