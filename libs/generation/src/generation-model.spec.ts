/**
 * @jest-environment ./libs/generation/src/testing/ort-test-environment.ts
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SeededRng } from '@synthgate/privacy';
import { type DecodingMode } from './decoding/decoding-modes';
import { type StepTrace } from './decoding/private-decoding';
import { type PrivateExampleParams, type GenerateExampleRequest, type GenerationModel, loadModel } from './generation-model';
import { importModel } from './import/model-import';
import { buildLlamaOnnx } from './model/llama-graph.builder';
import { referenceForward } from './model/llama-reference';
import { TINY_VOCAB_SIZE, writeTinyModelFolder } from './testing/model-files';
import { tinyArchitecture, tinyWeights } from './testing/tiny-llama';

const arch = tinyArchitecture({ vocabSize: TINY_VOCAB_SIZE, maxPositions: 64 });
const weights = tinyWeights(arch, 5);
const PRIVATE = ['the day', 'he played on the day.', 'a', 'she went on one day and played'];
const PUBLIC = 'one day';
const PARAMS: PrivateExampleParams = {
  mechanism: 'private-prediction',
  clip: 10,
  expectedBatchSize: 4,
  temperature: 1,
  publicTemperature: 1,
  drafter: { threshold: 0.3, sigma: 0.1 },
  privateTokenCap: 50,
  maxNewTokens: 10,
};

let root: string;
let model: GenerationModel;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'generation-'));
  writeTinyModelFolder(join(root, 'tiny'), arch, weights);
  model = await loadModel(join(root, 'tiny'), { threads: 1 });
});
afterAll(async () => {
  await model.release();
  rmSync(root, { recursive: true, force: true });
});

/** A step with every row's logits (the traces below ask for them: `inGraphAggregation: false`). */
type LogitsStep = StepTrace & { readonly logits: Float32Array };

async function traced(m: GenerationModel, request: Omit<GenerateExampleRequest, 'onStep'>): Promise<{ steps: LogitsStep[]; result: Awaited<ReturnType<GenerationModel['generateExample']>> }> {
  const steps: LogitsStep[] = [];
  const result = await m.generateExample({ inGraphAggregation: false, ...request, onStep: (t) => steps.push({ ...t, logits: Float32Array.from(t.logits!) }) });
  return { steps, result };
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('GenerationModel.generateExample', () => {
  it('gives the same logits (1e-4) and tokens with the KV cache as recomputing every prefix', async () => {
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: PARAMS };
    const cached = await traced(model, { ...request, rng: new SeededRng('modes'), mode: 'kv-cache' });
    const recomputed = await traced(model, { ...request, rng: new SeededRng('modes'), mode: 'recompute' });
    expect(cached.steps.length).toBeGreaterThan(3);
    expect(recomputed.steps.map((s) => s.token)).toEqual(cached.steps.map((s) => s.token));
    cached.steps.forEach((step, i) => {
      expect(step.logits.length).toBe((PRIVATE.length + 1) * TINY_VOCAB_SIZE);
      expect(maxDifference(step.logits, recomputed.steps[i]!.logits)).toBeLessThan(1e-4);
    });
    expect(recomputed.result.text).toBe(cached.result.text);
  });

  it('feeds every row its own prompt plus the shared suffix (logits equal the reference pass)', async () => {
    const { steps, result } = await traced(model, { privatePrompts: PRIVATE.slice(0, 2), publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 4 }, rng: new SeededRng(3) });
    const prompts = [...PRIVATE.slice(0, 2), PUBLIC].map((p) => model.tokenizer.encode(p));
    steps.forEach((step, t) => {
      prompts.forEach((prompt, row) => {
        const sequence = [...prompt, ...result.tokenIds.slice(0, t)];
        const expected = referenceForward(arch, weights, [sequence], [sequence.map(() => 1)])[0]![sequence.length - 1]!;
        const actual = step.logits.subarray(row * TINY_VOCAB_SIZE, (row + 1) * TINY_VOCAB_SIZE);
        expect(maxDifference(actual, Float32Array.from(expected))).toBeLessThan(1e-4);
      });
    });
  });

  it('is reproducible with a seeded generator', async () => {
    const run = (seed: string): ReturnType<GenerationModel['generateExample']> =>
      model.generateExample({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: PARAMS, rng: new SeededRng(seed) });
    const a = await run('x');
    const b = await run('x');
    const c = await run('y');
    expect(b.tokenIds).toEqual(a.tokenIds);
    expect(b.text).toBe(a.text);
    expect(c.tokenIds).not.toEqual(a.tokenIds);
  });

  it('decodes the text with the public prompt as context', async () => {
    const result = await model.generateExample({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: PARAMS, rng: new SeededRng(9) });
    const decoded = model.tokenizer.decodeContinuation(model.tokenizer.encode(PUBLIC), result.tokenIds);
    // This seed stops inside a character at T: the text is the decoding less that character's bytes.
    expect(decoded.endsWith('\uFFFD')).toBe(true);
    expect(result.text).toBe(decoded.replace(/\uFFFD+$/u, ''));
  });

  it('reads the bytes of a SentencePiece byte-fallback vocabulary: <0xNN> is one byte, the word marker a space', () => {
    const bytes = model.tokenizer.tokenBytes();
    const id = (token: string) => model.tokenizer.tokenId(token)!;
    expect([...bytes[id('<0xE2>')]!]).toEqual([0xe2]);
    expect(new TextDecoder().decode(bytes[id('▁the')]!)).toBe(' the');
    expect(bytes[id('</s>')]).toBeNull();
  });

  it('writes valid UTF-8 with no replacement character, whatever the random model samples', async () => {
    // The tiny model's random weights favour its 256 byte tokens: unmasked, most examples held U+FFFD.
    const encoder = new TextEncoder();
    const valid = (text: string) => !text.includes('\uFFFD') && new TextDecoder('utf-8', { fatal: true }).decode(encoder.encode(text)) === text;
    for (let seed = 0; seed < 12; seed += 1) {
      const params = { ...PARAMS, maxNewTokens: 24, drafter: seed % 2 === 0 ? PARAMS.drafter : null };
      const example = await model.generateExample({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params, rng: new SeededRng(`utf8-${seed}`), speculative: seed % 3 === 0 ? { maxDraftTokens: 4 } : null });
      expect(valid(example.text)).toBe(true);
      const text = await model.generateText({ prompt: PUBLIC, maxNewTokens: 24, temperature: 1, rng: new SeededRng(`utf8-text-${seed}`) });
      expect(valid(text.continuation)).toBe(true);
      expect(valid(text.text)).toBe(true);
    }
    const unmasked = await model.generateText({ prompt: PUBLIC, maxNewTokens: 24, greedy: true });
    expect(valid(unmasked.continuation)).toBe(true);
  });

  it('stops after r private tokens when every step is private', async () => {
    const result = await model.generateExample({
      privatePrompts: PRIVATE,
      publicPrompt: PUBLIC,
      params: { ...PARAMS, drafter: null, privateTokenCap: 3 },
      rng: new SeededRng(1),
    });
    expect(result).toMatchObject({ privateSteps: 3, publicSteps: 0, stopReason: 'private-token-cap' });
    expect(result.tokenIds).toHaveLength(3);
  });

  it('stops after T tokens, counting private and public steps', async () => {
    const result = await model.generateExample({ privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 5 }, rng: new SeededRng(2) });
    expect(result.stopReason).toBe('max-new-tokens');
    expect(result.tokenIds).toHaveLength(5);
    expect(result.privateSteps + result.publicSteps).toBe(5);
    expect(result.stepTimings.steps).toBe(5);
    expect(result.stepTimings.ortMs).toBeGreaterThan(0);
    expect(result.stepTimings.totalMs).toBeGreaterThanOrEqual(result.stepTimings.ortMs);
    expect(result.stepTimings.outsideOrtMs).toBeCloseTo(result.stepTimings.totalMs - result.stepTimings.ortMs, 6);
  });

  it('stops at end-of-sequence and leaves it out of the text', async () => {
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: PARAMS };
    const first = await model.generateExample({ ...request, rng: new SeededRng('eos') });
    // A model whose end-of-sequence token is the one this seed draws first.
    const eosArch = { ...arch, eosTokenIds: [first.tokenIds[0]!] };
    writeTinyModelFolder(join(root, 'eos'), eosArch, weights);
    const eosModel = await loadModel(join(root, 'eos'), { threads: 1 });
    try {
      const stopped = await eosModel.generateExample({ ...request, rng: new SeededRng('eos') });
      expect(stopped).toMatchObject({ stopReason: 'eos', tokenIds: [], text: '' });
      expect(stopped.privateSteps + stopped.publicSteps).toBe(1);
    } finally {
      await eosModel.release();
    }
  });

  it('runs with no private rows (the public row alone)', async () => {
    const result = await model.generateExample({ privatePrompts: [], publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 3 }, rng: new SeededRng(4) });
    expect(result.tokenIds.length).toBeGreaterThan(0);
  });

  it('prefills in row chunks to the same logits as one call', async () => {
    const chunked = await loadModel(join(root, 'tiny'), { threads: 1, prefillChunkTokens: 9 });
    try {
      const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 3 } };
      const a = await traced(model, { ...request, rng: new SeededRng(5) });
      const b = await traced(chunked, { ...request, rng: new SeededRng(5) });
      a.steps.forEach((step, i) => expect(maxDifference(step.logits, b.steps[i]!.logits)).toBeLessThan(1e-5));
      expect(b.result.tokenIds).toEqual(a.result.tokenIds);
    } finally {
      await chunked.release();
    }
  });

  it('resample-per-token draws a fresh sample of prompts from the pool at every step', async () => {
    const pool = [...PRIVATE, 'he went', 'the one', 'she played and played'];
    const request = { privatePrompts: PRIVATE.slice(0, 2), publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 6 }, resamplePool: pool, mode: 'resample-per-token' as DecodingMode };
    const a = await traced(model, { ...request, rng: new SeededRng(6) });
    const b = await traced(model, { ...request, rng: new SeededRng(6) });
    expect(b.result.tokenIds).toEqual(a.result.tokenIds);
    expect(a.steps.every((s) => s.logits.length === 3 * TINY_VOCAB_SIZE)).toBe(true);
    // The public row is the same whichever prompts were drawn.
    const rowsOf = (s: LogitsStep, row: number): Float32Array => s.logits.subarray(row * TINY_VOCAB_SIZE, (row + 1) * TINY_VOCAB_SIZE);
    const kv = await traced(model, { ...request, mode: 'kv-cache', rng: new SeededRng(6) });
    expect(maxDifference(rowsOf(a.steps[0]!, 2), rowsOf(kv.steps[0]!, 2))).toBeLessThan(1e-4);
  });

  it('plans memory from the prompt bound: rows past the limit run without a cache (same tokens), and only a limit below one row refuses', async () => {
    const small = await loadModel(join(root, 'tiny'), { threads: 1, kvCacheLimitBytes: 5_000 });
    const none = await loadModel(join(root, 'tiny'), { threads: 1, kvCacheLimitBytes: 1_000 });
    try {
      const plan = small.planMemory(5, 8, 10);
      expect(plan.kvCacheBytes).toBe(2 * 2 * 5 * 2 * 18 * 8 * 4);
      // The in-place cache is one buffer.
      expect(plan.kvBufferBytes).toBe(plan.kvCacheBytes);
      expect(plan.fits).toBe(false);
      expect(small.planMemory(1, 8, 10).fits).toBe(true);
      // One buffer of one row at 20 + 10 positions: 2 * 2 * 2 * 30 * 8 * 4 bytes; at 8 + 10 the limit holds one row (the public one).
      expect(small.planRows(20, 10)).toEqual({ bytesPerRow: 7_680, cachedRows: 0, limitBytes: 5_000 });
      expect(small.planRows(8, 10)).toEqual({ bytesPerRow: 4_608, cachedRows: 1, limitBytes: 5_000 });
      const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: { ...PARAMS, maxPromptTokens: 8 } };
      const bounded = await traced(small, { ...request, rng: new SeededRng(1) });
      const unbounded = await traced(model, { ...request, rng: new SeededRng(1) });
      expect(bounded.result.tokenIds).toEqual(unbounded.result.tokenIds);
      bounded.steps.forEach((step, i) => expect(maxDifference(step.logits, unbounded.steps[i]!.logits)).toBeLessThan(1e-4));
      await expect(none.generateExample({ ...request, rng: new SeededRng(1) })).rejects.toMatchObject({
        code: 'KV_CACHE_LIMIT_EXCEEDED',
        message: expect.stringContaining('KV_CACHE_LIMIT_BYTES'),
      });
    } finally {
      await small.release();
      await none.release();
    }
  });

  it('refuses invalid requests with the field named', async () => {
    const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, rng: new SeededRng(1) };
    await expect(model.generateExample({ ...request, params: { ...PARAMS, maxNewTokens: 0 } })).rejects.toMatchObject({ code: 'INVALID_GENERATION_INPUT', message: expect.stringContaining('maxNewTokens') });
    await expect(model.generateExample({ ...request, params: { ...PARAMS, privateTokenCap: 1.5 } })).rejects.toMatchObject({ message: expect.stringContaining('privateTokenCap') });
    await expect(model.generateExample({ ...request, params: PARAMS, mode: 'bogus' as DecodingMode })).rejects.toMatchObject({ message: expect.stringContaining('mode') });
    await expect(model.generateExample({ ...request, params: { ...PARAMS, clip: -1 } })).rejects.toThrow(/clip/);
  });

  it('cuts prompts longer than the context to their last tokens, keeping BOS', () => {
    const long = Array.from({ length: 40 }, () => 'the day').join(' ');
    const ids = model.encodePrompt(long, 30);
    expect(ids).toHaveLength(64 - 30);
    expect(ids[0]).toBe(1);
    expect(ids.slice(1)).toEqual(model.tokenizer.encode(long).slice(-33));
    expect(() => model.encodePrompt('a', 64)).toThrow(expect.objectContaining({ code: 'CONTEXT_LENGTH_EXCEEDED' }));
  });
});

describe('an Optimum-style graph (logits for every position, no num_logits_to_keep)', () => {
  it('decodes to the same logits and tokens as the default graph of the builder', async () => {
    const source = join(root, 'optimum-export');
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, 'model.onnx'), buildLlamaOnnx(arch, weights, { allPositionLogits: true }));
    copyFileSync(join(root, 'tiny', 'tokenizer.json'), join(source, 'tokenizer.json'));
    copyFileSync(join(root, 'tiny', 'config.json'), join(source, 'config.json'));
    const imported = await importModel(source, { name: 'optimum', modelsDir: root });
    const optimum = await loadModel(imported.dir, { threads: 1, prefillChunkTokens: 9 });
    try {
      const request = { privatePrompts: PRIVATE, publicPrompt: PUBLIC, params: { ...PARAMS, maxNewTokens: 5 } };
      const a = await traced(model, { ...request, rng: new SeededRng(8) });
      const b = await traced(optimum, { ...request, rng: new SeededRng(8) });
      expect(b.result.tokenIds).toEqual(a.result.tokenIds);
      a.steps.forEach((step, i) => expect(maxDifference(step.logits, b.steps[i]!.logits)).toBeLessThan(1e-4));
    } finally {
      await optimum.release();
    }
  });
});

// Where onnxruntime-node's CUDA provider is installed the session would open; the refusal is
// only testable without it (the default here: .npmrc skips the CUDA download).
const CUDA_PROVIDER = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const itWithoutCuda = existsSync(CUDA_PROVIDER) ? (console.log('skipped: the CUDA provider is installed'), it.skip) : it;

describe('execution provider', () => {
  itWithoutCuda('falls back to the CPU, saying why, where the CUDA binaries are not installed; refuses when told not to fall back', async () => {
    const fallen = await loadModel(join(root, 'tiny'), { executionProvider: 'cuda' });
    try {
      expect(fallen.executionProvider).toBe('cpu');
      // One line for the operator's log, naming the missing library and how to install it.
      expect(fallen.providerFallback).toMatch(/^CUDA execution provider not available: onnxruntime-node's CUDA binaries are not installed \(.*libonnxruntime_providers_cuda\.so is missing; .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
      expect(fallen.providerFallback).not.toContain('\n');
      const greedy = await fallen.generateText({ prompt: PUBLIC, maxNewTokens: 3, greedy: true });
      expect(greedy.tokenIds).toEqual((await model.generateText({ prompt: PUBLIC, maxNewTokens: 3, greedy: true })).tokenIds);
    } finally {
      await fallen.release();
    }
    expect(model.providerFallback).toBeNull();
    await expect(loadModel(join(root, 'tiny'), { executionProvider: 'cuda', cpuFallback: false })).rejects.toMatchObject({
      code: 'EXECUTION_PROVIDER_UNAVAILABLE',
      message: expect.stringMatching(/^CUDA execution provider not available: onnxruntime-node's CUDA binaries are not installed/),
    });
  });
});

describe('GenerationModel.generateText', () => {
  it('greedy decoding is deterministic and matches the reference argmax among the tokens that keep the text valid UTF-8', async () => {
    const out = await model.generateText({ prompt: PUBLIC, maxNewTokens: 4, greedy: true });
    const sequence = model.tokenizer.encode(PUBLIC);
    let state = 0;
    let masked = 0;
    for (const token of out.tokenIds) {
      const logits = referenceForward(arch, weights, [sequence], [sequence.map(() => 1)])[0]![sequence.length - 1]!;
      const allowed = model.utf8Table.allowedIn(state);
      const best = logits.reduce((b, value, id) => (allowed[id] === 1 && (b < 0 || value > logits[b]!) ? id : b), -1);
      if (best !== logits.indexOf(Math.max(...logits))) masked += 1;
      expect(token).toBe(best);
      state = model.utf8Table.after(state, token);
      sequence.push(token);
    }
    // The random model's unrestricted argmax is a stray byte at least once here: the mask decided.
    expect(masked).toBeGreaterThan(0);
    // Cut inside a character at T: that character's bytes are dropped.
    expect(state).not.toBe(0);
    expect(out.text).toBe(model.tokenizer.decode(sequence).replace(/\uFFFD+$/u, ''));
  });

  it('samples reproducibly with a seeded generator', async () => {
    const a = await model.generateText({ prompt: PUBLIC, maxNewTokens: 6, temperature: 1, rng: new SeededRng(7) });
    const b = await model.generateText({ prompt: PUBLIC, maxNewTokens: 6, temperature: 1, rng: new SeededRng(7) });
    expect(b.tokenIds).toEqual(a.tokenIds);
  });
});
