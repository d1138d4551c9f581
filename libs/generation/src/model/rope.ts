import { type LlamaArchitecture } from './llama-architecture';

/** One rotating pair of head dimensions and the index of its frequency. */
export interface RopePair {
  readonly first: number;
  readonly second: number;
  readonly frequency: number;
}

/**
 * Inverse frequencies `theta^(-2i/rotaryDim)`, with Hugging Face's `linear` or `llama3` scaling
 * or llama.cpp's per-frequency factors.
 * Computed in float64; the tables round once to float32.
 */
export function inverseFrequencies(arch: LlamaArchitecture): Float64Array {
  const rotaryDim = arch.rotaryDim ?? arch.headDim;
  const half = rotaryDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i += 1) inv[i] = 1 / Math.pow(arch.ropeTheta, (2 * i) / rotaryDim);
  const scaling = arch.ropeScaling;
  if (!scaling) return inv;
  if (scaling.type === 'linear') return inv.map((f) => f / scaling.factor);
  if (scaling.type === 'frequency-factors') return inv.map((f, i) => f / scaling.factors[i]!);
  // llama3: long wavelengths are slowed by `factor`, short ones kept, the band between blended.
  const lowWavelen = scaling.originalMaxPositions / scaling.lowFreqFactor;
  const highWavelen = scaling.originalMaxPositions / scaling.highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / scaling.factor;
    const smooth = (scaling.originalMaxPositions / wavelen - scaling.lowFreqFactor) / (scaling.highFreqFactor - scaling.lowFreqFactor);
    return (1 - smooth) * (f / scaling.factor) + smooth * f;
  });
}

/** The dimension pairs that rotate together in one head, for the architecture's layout. */
export function ropePairs(arch: Pick<LlamaArchitecture, 'headDim' | 'rotaryDim' | 'ropeLayout'>): RopePair[] {
  const rotaryDim = arch.rotaryDim ?? arch.headDim;
  const half = rotaryDim / 2;
  const pairs: RopePair[] = [];
  for (let i = 0; i < half; i += 1) {
    pairs.push(
      arch.ropeLayout === 'interleaved'
        ? { first: 2 * i, second: 2 * i + 1, frequency: i }
        : { first: i, second: i + half, frequency: i },
    );
  }
  return pairs;
}
