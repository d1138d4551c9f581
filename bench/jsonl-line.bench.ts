/**
 * `npm run bench:jsonl-line`: time to parse one JSON Lines record of 5, 10, 20 and 50 MB
 * (BENCH_JSONL_MB=a,b,... for others) fed in 64 KiB chunks, as an HTTP upload arrives. The parser
 * must be linear in the line's length: twice the bytes, about twice the time. The line cap is set
 * above the line here so the whole line is scanned and parsed; in the gateway the cap
 * (6 x IMPORT_MAX_RECORD_CHARS + 64 KiB) refuses such a line after its first few hundred KB.
 *
 * On the 2-core development machine, 5 / 10 / 20 / 50 MB: 254 / 598 / 2,081 / 13,688 ms with the
 * old parser (each chunk re-scanned the whole unfinished line), 22 / 37 / 70 / 181 ms now. Through
 * the gateway (in-process test gateway, one JSON line posted): 0.99 / 1.67 / 4.99 / 32.2 s before
 * (a /health probe waited up to 10.2 s), 0.15 / 0.23 / 0.50 / 0.97 s now (/health at most 0.46 s).
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { JsonLinesParser } from '../apps/gateway/src/datasets/import-streams';

const sizes = (process.env.BENCH_JSONL_MB ?? '5,10,20,50').split(',').map(Number);
const CHUNK = 64 * 1024;

function* chunks(line: Buffer): Generator<Buffer> {
  for (let offset = 0; offset < line.length; offset += CHUNK) yield line.subarray(offset, offset + CHUNK);
}

async function timeLine(megabytes: number): Promise<{ ms: number; rows: number }> {
  const text = 'x'.repeat(megabytes * 1024 * 1024);
  const line = Buffer.from(`${JSON.stringify({ text, label: 'a' })}\n`);
  let rows = 0;
  const started = process.hrtime.bigint();
  await pipeline(
    Readable.from(chunks(line)),
    new JsonLinesParser('text', 'label', line.length + 1),
    new Writable({
      objectMode: true,
      write: (_row, _encoding, callback) => {
        rows++;
        callback();
      },
    }),
  );
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, rows };
}

async function main(): Promise<void> {
  console.log('one JSON Lines record, fed in 64 KiB chunks:');
  for (const megabytes of sizes) {
    const { ms, rows } = await timeLine(megabytes);
    console.log(`  ${String(megabytes).padStart(3)} MB: ${ms.toFixed(0).padStart(6)} ms (${rows} row)`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
