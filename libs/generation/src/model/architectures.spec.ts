/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importModel } from '../import/model-import';
import { KvCacheBatch } from '../runtime/kv-cache-batch';
import { OnnxDecoder } from '../runtime/onnx-decoder';
import { ARCHITECTURE_CASES, type ArchitectureCase, CASE_ROWS, CASE_SUFFIX, writeArchitectureCase } from '../testing/architecture-cases';

/**
 * Every supported architecture, imported from a Hugging Face folder and from a GGUF file, gives
 * the logits of an independent PyTorch implementation (tools/model-reference/reference_forward.py,
 * written from the papers and Hugging Face's config semantics) at the prefill and at each cached
 * decoding step, in both cache layouts. The reference logits are recorded in reference-logits/
 * (with the sha256 of the weights they were computed from) and always compared; where PyTorch is
 * installed (Debian: apt-get install python3-torch) the reference also runs live and must agree
 * with the recording. A missing recording is written when PyTorch is present: delete one to
 * re-record it.
 */
const REFERENCE_SCRIPT = join(__dirname, '..', '..', '..', '..', 'tools', 'model-reference', 'reference_forward.py');
const FIXTURES = join(__dirname, 'reference-logits');
/** float32 graphs against a float64 reference, logits of order 1. */
const TOLERANCE = 1e-4;

interface ReferenceLogits {
  readonly case: string;
  readonly seed: number;
  /** sha256 of the model.safetensors the logits were computed from. */
  readonly weightsSha256: string;
  readonly torch: string;
  readonly sequences: readonly (readonly number[])[];
  /** `[row][step][vocab]`: step 0 at the prompt's last token, step k after the k-th suffix token. */
  readonly logits: readonly (readonly (readonly number[])[])[];
}

/** A Python interpreter that imports torch (Debian's python3-torch lives in /usr/bin/python3), or null. */
function torchPython(): string | null {
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  return null;
}

function liveReference(python: string, huggingFaceDir: string, c: ArchitectureCase, weightsSha256: string): ReferenceLogits {
  const sequences = CASE_ROWS.map((row) => [...row, ...CASE_SUFFIX]);
  const run = spawnSync(python, [REFERENCE_SCRIPT, huggingFaceDir, JSON.stringify(sequences)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (run.status !== 0) throw new Error(`the PyTorch reference failed for ${c.name}: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { torch: string; logits: number[][][] };
  const logits = CASE_ROWS.map((row, r) =>
    Array.from({ length: CASE_SUFFIX.length + 1 }, (_, step) => out.logits[r]![row.length - 1 + step]!.map((v) => Number(v.toPrecision(7)))),
  );
  return { case: c.name, seed: c.seed, weightsSha256, torch: out.torch, sequences, logits };
}

function worstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const python = torchPython();
let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'architectures-'));
  if (!python) process.stdout.write('architectures.spec: PyTorch not found (apt-get install python3-torch); comparing with the recorded reference logits only\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(ARCHITECTURE_CASES.map((c) => [c.name, c] as const))('%s', (name, c) => {
  it('Hugging Face and GGUF imports give the PyTorch reference logits, prefill and cached steps, both cache layouts', async () => {
    const { huggingFaceDir, ggufPath } = writeArchitectureCase(root, c);
    const weightsSha256 = createHash('sha256').update(readFileSync(join(huggingFaceDir, 'model.safetensors'))).digest('hex');
    const fixturePath = join(FIXTURES, `${name}.json`);
    let reference = existsSync(fixturePath) ? (JSON.parse(readFileSync(fixturePath, 'utf8')) as ReferenceLogits) : null;
    if (python) {
      const live = liveReference(python, huggingFaceDir, c, weightsSha256);
      if (reference) {
        expect(reference.weightsSha256).toBe(weightsSha256);
        live.logits.forEach((row, r) => row.forEach((step, s) => expect(worstDifference(step, reference!.logits[r]![s]!)).toBeLessThan(1e-5)));
      } else {
        writeFileSync(fixturePath, `${JSON.stringify(live)}\n`);
        process.stdout.write(`architectures.spec: recorded ${fixturePath} with torch ${live.torch}\n`);
        reference = live;
      }
    }
    if (!reference) throw new Error(`${fixturePath} is missing and PyTorch is not installed to record it`);
    // The weights generator must still produce the weights the recording was made from.
    expect(reference.weightsSha256).toBe(weightsSha256);

    for (const [format, source] of [['huggingface', huggingFaceDir], ['gguf', ggufPath]] as const) {
      const imported = await importModel(source, { name: `${name}-${format}`, modelsDir: join(root, 'models') });
      for (const inPlaceCache of [true, false]) {
        const decoder = await OnnxDecoder.load(join(imported.dir, 'model.onnx'), { threads: 1, executionProvider: 'cpu', inPlaceCache });
        try {
          expect(decoder.signature.cacheLayout).toBe(inPlaceCache ? 'in-place' : 'concat');
          const vocab = c.arch.vocabSize;
          const batch = new KvCacheBatch(decoder, CASE_ROWS, { chunkTokens: 16, padTokenId: 0, vocabSize: vocab, maxNewTokens: CASE_SUFFIX.length });
          const steps = [Float32Array.from(await batch.prefill())];
          for (const token of CASE_SUFFIX) steps.push(Float32Array.from(await batch.append(token)));
          steps.forEach((logits, step) =>
            CASE_ROWS.forEach((_, r) => {
              const worst = worstDifference(logits.subarray(r * vocab, (r + 1) * vocab), reference!.logits[r]![step]!);
              if (worst >= TOLERANCE) throw new Error(`${name} ${format} ${inPlaceCache ? 'in-place' : 'concat'}: row ${r} step ${step} differs by ${worst}`);
            }),
          );
        } finally {
          await decoder.release();
        }
      }
    }
  });
});

/**
 * fp16 and int4 storage around the same variant ops: fp16 within 2e-2 of the reference; int4 (blocks
 * of 32 on rows of 32, the coarsest case) within 0.8 of the logits' spread, weight-storage.spec's
 * bound for a plain Llama (measured here 0.05-0.16 of the spread).
 */
describe.each([
  ['fp16', (worst: number) => expect(worst).toBeLessThan(2e-2)],
  ['int4', (worst: number, spread: number) => expect(worst / spread).toBeLessThan(0.8)],
] as const)('every architecture stored as %s', (weightStorage, check) => {
  it('stays near the recorded PyTorch logits', async () => {
    for (const c of ARCHITECTURE_CASES) {
      const reference = JSON.parse(readFileSync(join(FIXTURES, `${c.name}.json`), 'utf8')) as ReferenceLogits;
      const { ggufPath } = writeArchitectureCase(root, c);
      const imported = await importModel(ggufPath, { name: `${c.name}-${weightStorage}`, modelsDir: join(root, 'stored'), weightStorage });
      const decoder = await OnnxDecoder.load(join(imported.dir, 'model.onnx'), { threads: 1, executionProvider: 'cpu' });
      try {
        const vocab = c.arch.vocabSize;
        const batch = new KvCacheBatch(decoder, CASE_ROWS, { chunkTokens: 16, padTokenId: 0, vocabSize: vocab, maxNewTokens: CASE_SUFFIX.length });
        const steps = [Float32Array.from(await batch.prefill())];
        for (const token of CASE_SUFFIX) steps.push(Float32Array.from(await batch.append(token)));
        let worst = 0;
        let spread = 0;
        steps.forEach((logits, step) =>
          CASE_ROWS.forEach((_, r) => {
            const expected = reference.logits[r]![step]!;
            worst = Math.max(worst, worstDifference(logits.subarray(r * vocab, (r + 1) * vocab), expected));
            spread = Math.max(spread, Math.max(...expected) - Math.min(...expected));
          }),
        );
        process.stdout.write(`architectures.spec: ${c.name} ${weightStorage}: largest logit difference ${worst.toFixed(4)} (spread ${spread.toFixed(2)})\n`);
        check(worst, spread);
      } finally {
        await decoder.release();
      }
    }
  });
});
