import { combineHash, fmix32, hashRange, words } from './features';

/**
 * The public feature map of a record for private clustering (issue 19): a fixed-length, unit-norm
 * vector that is a function of the record's text alone (no vocabulary, no statistics of any
 * dataset), so it is public in the sense DP k-means needs: the clustering mechanism
 * (`dpKMeans` in libs/privacy) bounds each record's influence by its norm, not by how the map
 * was chosen.
 *
 * Word unigrams and bigrams (lower-cased, as {@link words}) are hashed into `dimension` buckets
 * with a hashed sign (Weinberger et al. 2009, so collisions cancel in expectation instead of piling
 * up on a common direction), counted with sublinear weight `1 + log(count)`, and the vector is
 * scaled to L2 norm 1. A text with no word maps to the zero vector. Deterministic on every platform.
 */
export function recordFeatureVector(text: string, dimension = DEFAULT_RECORD_FEATURE_DIMENSION): Float64Array {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 1 << 20) throw new RangeError(`dimension must be an integer from 1 to 2^20, got ${dimension}`);
  const counts = new Map<number, number>();
  const tokens = words(text);
  const hashes = tokens.map((token) => hashRange(token, 0, token.length, WORD_SEED));
  for (let start = 0; start < tokens.length; start++) {
    let h = WORD_SEED;
    for (let n = 1; n <= 2 && start + n <= tokens.length; n++) {
      h = combineHash(h, hashes[start + n - 1]!);
      const feature = combineHash(h, n);
      counts.set(feature, (counts.get(feature) ?? 0) + 1);
    }
  }
  const vector = new Float64Array(dimension);
  for (const [feature, count] of counts) {
    const bucket = feature % dimension;
    const sign = fmix32(feature ^ SIGN_SEED) & 1 ? -1 : 1;
    vector[bucket] = vector[bucket]! + sign * (1 + Math.log(count));
  }
  let squares = 0;
  for (const x of vector) squares += x * x;
  if (squares > 0) {
    const scale = 1 / Math.sqrt(squares);
    for (let i = 0; i < dimension; i++) vector[i] = vector[i]! * scale;
  }
  return vector;
}

/** Default length of {@link recordFeatureVector}. */
export const DEFAULT_RECORD_FEATURE_DIMENSION = 64;

const WORD_SEED = 0x3c6ef372;
const SIGN_SEED = 0x1b873593;
