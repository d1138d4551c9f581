import { type FeatureOptions, hashedCounts, resolveFeatureOptions, type ResolvedFeatureOptions, type SparseVector } from './features';

/**
 * TF-IDF over hashed n-grams, fitted on a training corpus: sublinear term frequency `1 + ln(tf)`,
 * smoothed inverse document frequency `ln((1 + n) / (1 + df)) + 1` (scikit-learn's defaults), and
 * each vector scaled to unit L2 norm.
 */
export class TfidfVectorizer {
  readonly options: ResolvedFeatureOptions;
  private idf: Float64Array | null = null;

  constructor(options: FeatureOptions = {}) {
    this.options = resolveFeatureOptions(options);
  }

  /** Learns document frequencies from `texts`; returns the training texts' vectors. */
  fitTransform(texts: readonly string[]): SparseVector[] {
    const counts = texts.map((text) => hashedCounts(text, this.options));
    const documentFrequency = new Float64Array(this.options.dimension);
    for (const vector of counts) for (const index of vector.indices) documentFrequency[index]! += 1;
    const idf = new Float64Array(this.options.dimension);
    const n = texts.length;
    for (let j = 0; j < idf.length; j++) idf[j] = Math.log((1 + n) / (1 + documentFrequency[j]!)) + 1;
    this.idf = idf;
    return counts.map((vector) => this.weigh(vector));
  }

  transform(texts: readonly string[]): SparseVector[] {
    return texts.map((text) => this.weigh(hashedCounts(text, this.options)));
  }

  private weigh(counts: SparseVector): SparseVector {
    const idf = this.idf;
    if (!idf) throw new Error('TfidfVectorizer: call fitTransform before transform');
    const values = new Float64Array(counts.values.length);
    let norm = 0;
    for (let i = 0; i < values.length; i++) {
      const value = (1 + Math.log(counts.values[i]!)) * idf[counts.indices[i]!]!;
      values[i] = value;
      norm += value * value;
    }
    if (norm > 0) {
      const scale = 1 / Math.sqrt(norm);
      for (let i = 0; i < values.length; i++) values[i]! *= scale;
    }
    return { indices: counts.indices, values };
  }
}
