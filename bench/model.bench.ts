/*
 * `npm run bench:model`: the default model's held-out perplexity and decoding speed.
 *
 * Perplexity: the held-out books of ../shared/data/corpus/gutenberg-60mb.txt, chosen by the rule
 * tools/train-default-model/corpus.py documents (a book is held out when the first 8 hex digits of
 * sha256 of its lines joined by "\n" are divisible by 20), tokenized here with the model's own
 * tokenizer.json, each book preceded by token 0 and its paragraphs joined by "\n\n". Window k of K
 * starts at token floor(k * n / K) * C (C = 256 positions, n = floor((tokens - 1) / C)) and
 * predicts C tokens from no earlier context; the model runs through onnxruntime-node. This is the
 * figure models/default/MODEL_CARD.md states. Skipped, with the reason printed, when the shared
 * data is absent (a fresh clone).
 *
 * Speed: ms per decoding step with the KV cache through libs/generation's generateExample
 * (non-private setting, so the mechanism adds almost nothing) at 1, 32 and 128 rows, on the
 * configured threads (2). Figures from a shared machine are indicative only.
 *
 * Record influence (recordInfluence): the mean L1 distance between the first next-token
 * distributions with and without the record, over the public probe set bench/probes/record-influence.json
 * (60 short texts of varied kinds written for this repository, never an evaluation set), each as the
 * product prompts it ("Here is a {kind} about {label}: {text}\n\nHere is another {kind} about
 * {label}:" against its public prompt), through the product's template code and engine
 * (bench/model/record-influence.ts); also with shuffled pairings (record i under probe j's kind and
 * label). A model that ignores the record scores near 0.
 *
 * Options: --model DIR (default models/default), --windows K (default 256), --samples N (print
 * N samples at temperature 1, seeds 1..N, unconditional or after --prompt TEXT), --probes FILE
 * (default bench/probes/record-influence.json), --json FILE (write the figures measured as JSON),
 * --skip-speed, --skip-perplexity, --skip-influence.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { DECODER_IO, type GenerationModel, loadModel, TextTokenizer } from '@synthgate/generation';
import { SeededRng } from '@synthgate/privacy';
import { readProbeSet, recordInfluence, type RecordInfluence } from './model/record-influence';

const ROOT = resolve(__dirname, '..', '..');
const CORPUS = join(ROOT, '..', 'shared', 'data', 'corpus', 'gutenberg-60mb.txt');
const HELD_OUT_MODULUS = 20;
const CONTEXT = 256;
const EOS = 0;
const BATCH = 8;

interface Options {
  readonly model: string;
  readonly windows: number;
  readonly samples: number;
  readonly prompt: string;
  readonly speed: boolean;
  readonly perplexity: boolean;
  readonly influence: boolean;
  readonly probes: string;
  readonly json: string | null;
}

/** What --json writes: every figure this run measured. */
interface ModelBenchResult {
  model: string;
  perplexity?: PerplexityResult;
  recordInfluence?: RecordInfluence;
}

interface PerplexityResult {
  readonly books: number;
  readonly tokens: number;
  readonly predictedTokens: number;
  readonly meanNll: number;
  readonly perplexity: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    model: resolve(ROOT, value('--model') ?? 'models/default'),
    windows: Number(value('--windows') ?? 256),
    samples: Number(value('--samples') ?? 0),
    prompt: (value('--prompt') ?? '').replace(/\\n/g, '\n'),
    speed: !argv.includes('--skip-speed'),
    perplexity: !argv.includes('--skip-perplexity'),
    influence: !argv.includes('--skip-influence'),
    probes: resolve(ROOT, value('--probes') ?? 'bench/probes/record-influence.json'),
    json: value('--json') ? resolve(value('--json')!) : null,
  };
}

/** The held-out books' texts, in file order (the rule of corpus.py). */
function heldOutBooks(corpusText: string): string[] {
  const books: string[][] = [];
  let current: string[] = [];
  for (const line of corpusText.split('\n')) {
    if (line === '<|endoftext|>') {
      books.push(current);
      current = [];
    } else {
      current.push(line);
    }
  }
  // The file ends with a newline: the last split piece is empty, not a paragraph.
  if (current.length > 0 && current[current.length - 1] === '') current.pop();
  if (current.length > 0) books.push(current);
  return books
    .filter((lines) => lines.length > 0)
    .filter((lines) => {
      const digest = createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
      return parseInt(digest.slice(0, 8), 16) % HELD_OUT_MODULUS === 0;
    })
    .map((lines) => lines.join('\n\n'));
}

/** Start offsets of the evaluated windows (same rule as train.py's heldout_windows). */
function windowStarts(streamLength: number, context: number, count: number): number[] {
  const n = Math.floor((streamLength - 1) / context);
  const k = Math.min(count, n);
  return Array.from({ length: k }, (_, i) => Math.floor((i * n) / k) * context);
}

async function perplexity(options: Options): Promise<PerplexityResult | undefined> {
  if (!existsSync(CORPUS)) {
    console.log(`perplexity: skipped: ${CORPUS} is absent (shared data is not part of a fresh clone)`);
    return undefined;
  }
  const started = performance.now();
  const books = heldOutBooks(readFileSync(CORPUS, 'utf8'));
  const tokenizerConfig = join(options.model, 'tokenizer_config.json');
  const tokenizer = TextTokenizer.fromFiles(join(options.model, 'tokenizer.json'), existsSync(tokenizerConfig) ? tokenizerConfig : null);
  const stream: number[] = [];
  let characters = 0;
  for (const book of books) {
    stream.push(EOS);
    for (const id of tokenizer.encode(book, { addSpecialTokens: false })) stream.push(id);
    characters += book.length;
  }
  const tokenizeMs = performance.now() - started;

  const session = await ort.InferenceSession.create(join(options.model, 'model.onnx'), { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const pastInputs = session.inputNames.filter((name) => name.startsWith('past_key_values.'));
  const config = JSON.parse(readFileSync(join(options.model, 'config.json'), 'utf8')) as {
    num_key_value_heads: number;
    hidden_size: number;
    num_attention_heads: number;
    head_dim?: number;
  };
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const starts = windowStarts(stream.length, CONTEXT, options.windows);
  let nll = 0;
  let predicted = 0;
  const evalStarted = performance.now();
  for (let b = 0; b < starts.length; b += BATCH) {
    const chunk = starts.slice(b, b + BATCH);
    const rows = chunk.length;
    const ids = new BigInt64Array(rows * CONTEXT);
    const positions = new BigInt64Array(rows * CONTEXT);
    chunk.forEach((start, r) => {
      for (let t = 0; t < CONTEXT; t += 1) {
        ids[r * CONTEXT + t] = BigInt(stream[start + t]!);
        positions[r * CONTEXT + t] = BigInt(t);
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      [DECODER_IO.inputIds]: new ort.Tensor('int64', ids, [rows, CONTEXT]),
      [DECODER_IO.attentionMask]: new ort.Tensor('int64', new BigInt64Array(rows * CONTEXT).fill(1n), [rows, CONTEXT]),
    };
    if (session.inputNames.includes(DECODER_IO.positionIds)) feeds[DECODER_IO.positionIds] = new ort.Tensor('int64', positions, [rows, CONTEXT]);
    if (session.inputNames.includes(DECODER_IO.numLogitsToKeep)) feeds[DECODER_IO.numLogitsToKeep] = new ort.Tensor('int64', BigInt64Array.from([BigInt(CONTEXT)]), []);
    for (const name of pastInputs) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [rows, config.num_key_value_heads, 0, headDim]);
    const output = await session.run(feeds, [DECODER_IO.logits]);
    const logits = output[DECODER_IO.logits]!;
    const data = logits.data as Float32Array;
    const vocab = logits.dims[2]!;
    chunk.forEach((start, r) => {
      for (let t = 0; t < CONTEXT; t += 1) {
        const row = data.subarray((r * CONTEXT + t) * vocab, (r * CONTEXT + t + 1) * vocab);
        let max = -Infinity;
        for (let v = 0; v < vocab; v += 1) if (row[v]! > max) max = row[v]!;
        let sum = 0;
        for (let v = 0; v < vocab; v += 1) sum += Math.exp(row[v]! - max);
        nll += max + Math.log(sum) - row[stream[start + t + 1]!]!;
        predicted += 1;
      }
    });
  }
  await session.release();
  const meanNll = nll / predicted;
  console.log('held-out perplexity (models: %s)', options.model);
  console.table([
    {
      books: books.length,
      characters,
      tokens: stream.length,
      'chars/token': Number((characters / stream.length).toFixed(3)),
      windows: starts.length,
      'predicted tokens': predicted,
      'mean NLL (nats)': Number(meanNll.toFixed(4)),
      perplexity: Number(Math.exp(meanNll).toFixed(3)),
      'tokenize s': Number((tokenizeMs / 1000).toFixed(1)),
      'evaluate s': Number(((performance.now() - evalStarted) / 1000).toFixed(1)),
    },
  ]);
  return { books: books.length, tokens: stream.length, predictedTokens: predicted, meanNll: Number(meanNll.toFixed(4)), perplexity: Number(Math.exp(meanNll).toFixed(3)) };
}

const SPEED_PROMPT = 'Here is a question about LOC: Where is the Eiffel Tower?\n\nHere is another question about LOC:';

async function speed(model: GenerationModel): Promise<void> {
  const table: Record<string, number | string>[] = [];
  for (const rows of [1, 32, 128]) {
    const maxNewTokens = 32;
    let steps = 0;
    let decodeMs = 0;
    let prefillMs = 0;
    // Repeat until at least 32 steps were timed (a sample can stop early at end-of-text).
    for (let attempt = 0; steps < 32 && attempt < 8; attempt += 1) {
      const example = await model.generateExample({
        privatePrompts: Array.from({ length: rows - 1 }, (_, i) => `${SPEED_PROMPT} ${i}`),
        publicPrompt: SPEED_PROMPT,
        params: {
          mechanism: 'non-private-reference',
          expectedBatchSize: Math.max(1, rows - 1),
          temperature: 1,
          publicTemperature: 1,
          privateTokenCap: maxNewTokens,
          maxNewTokens,
        },
        rng: new SeededRng(`speed-${rows}-${attempt}`),
      });
      // The first token comes from the prefill's logits; each later one costs one cached step.
      steps += example.stepTimings.steps - 1;
      decodeMs += example.stepTimings.decodeMs;
      prefillMs += example.stepTimings.prefillMs;
    }
    table.push({ rows, 'timed steps': steps, 'ms/step (KV cache)': Number((decodeMs / Math.max(1, steps)).toFixed(2)), 'prefill ms': Number(prefillMs.toFixed(0)) });
  }
  console.log('decoding speed, %s, 2 threads', model.name);
  console.table(table);
}

async function samples(model: GenerationModel, count: number, prompt: string): Promise<void> {
  for (let seed = 1; seed <= count; seed += 1) {
    // An empty prompt starts from token 0, the document separator the model was trained with.
    const sample = await model.generateText({ prompt, maxNewTokens: 96, temperature: 1, rng: new SeededRng(seed) });
    console.log(`--- sample ${seed} (${sample.tokenIds.length} tokens, ${sample.stopReason})\n${sample.continuation}`);
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(options.model)) {
    console.log(`bench:model: skipped: ${options.model} does not exist (import a model with synthgate model import)`);
    return;
  }
  const result: ModelBenchResult = { model: options.model };
  if (options.perplexity) result.perplexity = await perplexity(options);
  if (options.speed || options.samples > 0 || options.influence) {
    const model = await loadModel(options.model, { threads: 2 });
    try {
      if (options.influence) {
        const influence = await recordInfluence(model, readProbeSet(options.probes));
        result.recordInfluence = influence;
        console.log('recordInfluence (%s, %d public probes from %s): mean L1 %s with the record against the public prompt; %s with shuffled pairings', model.name, influence.probes, options.probes.replace(`${ROOT}/`, ''), influence.meanL1, influence.shuffledMeanL1);
        console.table(Object.entries(influence.byKind).map(([kind, value]) => ({ kind, ...value })));
      }
      if (options.speed) await speed(model);
      if (options.samples > 0) await samples(model, options.samples, options.prompt);
    } finally {
      await model.release();
    }
  }
  if (options.json) {
    writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${options.json}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
