/*
 * `npm run bench:privacy`: time of one private decoding step of libs/privacy (clip-and-recentre
 * aggregate over the batch + exponential-mechanism sample, i.e. `PrivateTokenSampler.next`) at
 * batch 255 for vocabularies of 512, 4096, 32000 and 256000, with the production CryptoRng.
 * Variants: no drafter; drafter on and the step private (the worst case: the sparse-vector pass,
 * one softmax per row, comes on top); public top-k 50 (only k columns aggregated).
 * Reported per step and per row-token (step time / rows). Figures from a shared machine are
 * indicative only.
 */
import { CryptoRng, PrivateTokenSampler, SeededRng, type TokenMechanismParams } from '@synthgate/privacy';

const ROWS = 255;
const VOCABULARIES = [512, 4096, 32_000, 256_000];
const MIN_SECONDS = 0.4;
const MIN_STEPS = 3;

interface Variant {
  readonly name: string;
  readonly params: TokenMechanismParams;
}

const BASE: TokenMechanismParams = { clip: 10, expectedBatchSize: ROWS, temperature: 2, publicTemperature: 1 };
const VARIANTS: readonly Variant[] = [
  { name: 'private step, drafter off', params: BASE },
  // threshold -1e9: every step goes private, so the step pays statistic + aggregate + sample.
  { name: 'private step, drafter on', params: { ...BASE, drafter: { threshold: -1e9, sigma: 0.2 } } },
  { name: 'private step, top-k 50', params: { ...BASE, topK: 50 } },
];

/** Logits shaped like a language model's: a Gaussian bulk with a few strong tokens per row. */
function syntheticLogits(rows: number, vocab: number): Float32Array {
  const rng = new SeededRng(`bench-${vocab}`);
  const out = new Float32Array(rows * vocab);
  for (let i = 0; i < out.length; i += 2) {
    const radius = Math.sqrt(-2 * Math.log(1 - rng.nextDouble()));
    const angle = 2 * Math.PI * rng.nextDouble();
    out[i] = 2.5 * radius * Math.cos(angle);
    if (i + 1 < out.length) out[i + 1] = 2.5 * radius * Math.sin(angle);
  }
  for (let i = 0; i < rows; i++) for (let t = 0; t < 5; t++) out[i * vocab + Math.floor(rng.nextDouble() * vocab)] += 12;
  return out;
}

function measure(sampler: PrivateTokenSampler, logits: Float32Array, pub: Float32Array): number {
  for (let i = 0; i < 2; i++) sampler.next(logits, ROWS, pub); // warm up (JIT, caches)
  let steps = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (steps < MIN_STEPS || elapsed < MIN_SECONDS) {
    sampler.next(logits, ROWS, pub);
    steps += 1;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return elapsed / steps;
}

function main(): void {
  const rng = new CryptoRng();
  const results: { variant: string; vocabSize: number; msPerStep: number; nsPerRowToken: number }[] = [];
  console.log(`libs/privacy private step, batch ${ROWS} rows (Node ${process.version})`);
  console.log(`${'variant'.padEnd(28)} ${'vocab'.padStart(7)} ${'ms/step'.padStart(10)} ${'us/row-token'.padStart(13)} ${'ns/logit'.padStart(9)}`);
  for (const vocab of VOCABULARIES) {
    const logits = syntheticLogits(ROWS + 1, vocab);
    const privateRows = logits.subarray(0, ROWS * vocab);
    const pub = logits.subarray(ROWS * vocab);
    for (const variant of VARIANTS) {
      const seconds = measure(new PrivateTokenSampler(vocab, variant.params, rng), privateRows, pub);
      const msPerStep = seconds * 1e3;
      const nsPerRowToken = (seconds * 1e9) / ROWS;
      results.push({ variant: variant.name, vocabSize: vocab, msPerStep, nsPerRowToken });
      console.log(
        `${variant.name.padEnd(28)} ${String(vocab).padStart(7)} ${msPerStep.toFixed(3).padStart(10)} ${(nsPerRowToken / 1e3).toFixed(3).padStart(13)} ${(nsPerRowToken / vocab).toFixed(2).padStart(9)}`,
      );
    }
  }
  console.log(JSON.stringify({ bench: 'privacy-private-step', rows: ROWS, results }));
}

main();
