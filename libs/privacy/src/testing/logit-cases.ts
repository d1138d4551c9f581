/*
 * Random logit rows for the privacy-loss and sensitivity specs, including the extremes a model (or
 * a bug upstream) can produce: huge magnitudes, float32 limits, denormals, ties, -Infinity, +Infinity
 * and NaN. Deterministic given the Rng.
 */
import { type Rng } from '../rng';

const KINDS = ['normal', 'wide', 'huge', 'float32-limits', 'ties', 'minus-infinity', 'all-minus-infinity', 'plus-infinity', 'nan', 'denormal', 'constant'] as const;

/** One kind of row; see {@link KINDS}. */
export type RowKind = (typeof KINDS)[number];

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.nextDouble())) * Math.cos(2 * Math.PI * rng.nextDouble());
}

/** An integer in [lo, hi]. */
export function randomInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.nextDouble() * (hi - lo + 1));
}

/** Picks a row kind: half the rows are ordinary, half are one of the extreme kinds. */
export function randomKind(rng: Rng): RowKind {
  return rng.nextDouble() < 0.5 ? 'normal' : KINDS[randomInt(rng, 1, KINDS.length - 1)]!;
}

/** Fills `out[offset .. offset + vocabSize)` with a row of the given kind. */
export function fillRow(rng: Rng, out: Float32Array, offset: number, vocabSize: number, kind: RowKind): void {
  for (let j = 0; j < vocabSize; j++) {
    const base = 3 * gaussian(rng);
    let value: number;
    switch (kind) {
      case 'normal':
        value = base;
        break;
      case 'wide':
        value = 60 * gaussian(rng);
        break;
      case 'huge':
        value = (rng.nextDouble() < 0.5 ? -1 : 1) * 1e30 * (1 + rng.nextDouble());
        break;
      case 'float32-limits':
        value = [3.4028234663852886e38, -3.4028234663852886e38, 0, 1.401298464324817e-45][randomInt(rng, 0, 3)]!;
        break;
      case 'ties':
        value = [0, 1, -1][randomInt(rng, 0, 2)]!;
        break;
      case 'minus-infinity':
        value = rng.nextDouble() < 0.5 ? -Infinity : base;
        break;
      case 'all-minus-infinity':
        value = -Infinity;
        break;
      case 'plus-infinity':
        value = rng.nextDouble() < 0.3 ? Infinity : rng.nextDouble() < 0.3 ? -Infinity : base;
        break;
      case 'nan':
        value = rng.nextDouble() < 0.4 ? Number.NaN : base;
        break;
      case 'denormal':
        value = 1e-40 * randomInt(rng, -3, 3);
        break;
      case 'constant':
        value = 7;
        break;
    }
    out[offset + j] = value;
  }
}

/** A buffer of `rows` random rows of mixed kinds. */
export function randomRows(rng: Rng, rows: number, vocabSize: number): Float32Array {
  const out = new Float32Array(Math.max(rows, 1) * vocabSize);
  for (let i = 0; i < rows; i++) fillRow(rng, out, i * vocabSize, vocabSize, randomKind(rng));
  return out;
}

/**
 * The two neighbours of a batch of `rows` rows in `logits` that the privacy-loss specs compare it
 * with: one row added (the buffer's next row, so `logits` must hold `rows + 1` rows) and, when
 * there is a row to remove, one removed (a random row replaced by the last of the first `rows`).
 */
export function neighbourBatches(rng: Rng, logits: Float32Array, rows: number, vocabSize: number): { rows: number; logits: Float32Array }[] {
  const neighbours = [{ rows: rows + 1, logits }];
  if (rows > 0) {
    const i = randomInt(rng, 0, rows - 1);
    const removed = Float32Array.from(logits);
    removed.copyWithin(i * vocabSize, (rows - 1) * vocabSize, rows * vocabSize);
    neighbours.push({ rows: rows - 1, logits: removed });
  }
  return neighbours;
}

/**
 * The largest relative error `|ours - reference| / (1 + |reference|)` of a distribution's
 * log-probabilities against a reference, after checking that both exclude exactly the same tokens
 * (-Infinity); throws naming the first token where they differ.
 */
export function worstLogProbabilityError(ours: ArrayLike<number>, reference: ArrayLike<number>): number {
  let worst = 0;
  for (let y = 0; y < reference.length; y++) {
    const r = reference[y]!;
    const o = ours[y]!;
    if ((r === -Infinity) !== (o === -Infinity)) throw new Error(`token ${y}: log-probability ${o} against the reference's ${r}`);
    if (r !== -Infinity) worst = Math.max(worst, Math.abs(o - r) / (1 + Math.abs(r)));
  }
  return worst;
}
