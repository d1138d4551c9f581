import { createCipheriv, createHash, randomFillSync } from 'node:crypto';

/**
 * Uniform randomness for every privacy-relevant draw (partitioning keys, noise, token sampling).
 * Implementations inject it, so production uses {@link CryptoRng} and tests a {@link SeededRng}.
 */
export interface Rng {
  /**
   * A uniform double on [0, 1) with all 53 mantissa bits random: the result is `k / 2^53` for a
   * uniform integer `k` in [0, 2^53). Callers that take a logarithm must handle 0 (probability 2^-53).
   */
  nextDouble(): number;
}

const TWO_POW_26 = 0x4000000;
const TWO_POW_53 = 0x20000000000000;
const BUFFER_BYTES = 8192;

/**
 * Shared machinery of the two generators: a byte buffer refilled in blocks, turned into doubles
 * eight bytes at a time. Reading little-endian through a DataView makes a seeded stream identical
 * on every platform.
 */
abstract class BufferedRng implements Rng {
  private readonly bytes = new Uint8Array(BUFFER_BYTES);
  private readonly view = new DataView(this.bytes.buffer);
  private offset = BUFFER_BYTES;

  nextDouble(): number {
    if (this.offset === BUFFER_BYTES) {
      this.refill(this.bytes);
      this.offset = 0;
    }
    // 27 high bits of the first word and 26 of the second: 53 independent uniform bits.
    const high = this.view.getUint32(this.offset, true) >>> 5;
    const low = this.view.getUint32(this.offset + 4, true) >>> 6;
    this.offset += 8;
    return (high * TWO_POW_26 + low) / TWO_POW_53;
  }

  /** Overwrites every byte of `target` with fresh random bytes. */
  protected abstract refill(target: Uint8Array): void;
}

/**
 * The production generator: the operating system's CSPRNG (`crypto.randomFillSync`, the in-place
 * form of `crypto.randomBytes`), buffered 8 KiB at a time so a token step costs no system call.
 */
export class CryptoRng extends BufferedRng {
  protected refill(target: Uint8Array): void {
    randomFillSync(target);
  }
}

/**
 * A deterministic generator for tests and reproducible benchmarks: the AES-256-CTR keystream under
 * the key SHA-256(domain, seed). Its output is indistinguishable from uniform (so statistical tests
 * against it are meaningful) and identical across platforms and Node versions. The number 42 and
 * the string "42" are different seeds. Never use it for a real release: the seed is the whole secret.
 */
export class SeededRng extends BufferedRng {
  private readonly cipher: ReturnType<typeof createCipheriv>;
  private readonly zeros = new Uint8Array(BUFFER_BYTES);

  constructor(seed: number | string) {
    super();
    const key = createHash('sha256').update(`synthgate.SeededRng.v1\u0000${typeof seed}:${String(seed)}`).digest();
    this.cipher = createCipheriv('aes-256-ctr', key, new Uint8Array(16));
  }

  protected refill(target: Uint8Array): void {
    target.set(this.cipher.update(this.zeros));
  }
}

/**
 * A cryptographically secure generator for one stream of a release: the AES-256-CTR keystream
 * under a 256-bit key that the caller derives from a secret drawn with `crypto.randomBytes` (see
 * `batchRng`). Unlike {@link CryptoRng} it can be replayed by whoever holds the key, which is what
 * a retried batch needs; unlike {@link SeededRng} its key is a secret, not a test seed.
 */
export class KeyedStreamRng extends BufferedRng {
  private readonly cipher: ReturnType<typeof createCipheriv>;
  private readonly zeros = new Uint8Array(BUFFER_BYTES);

  constructor(key: Uint8Array) {
    super();
    if (key.length !== 32) throw new RangeError('KeyedStreamRng: the key must be 32 bytes');
    this.cipher = createCipheriv('aes-256-ctr', key, new Uint8Array(16));
  }

  protected refill(target: Uint8Array): void {
    target.set(this.cipher.update(this.zeros));
  }
}

/** A uniform integer in [0, 2^53), exact: `nextDouble()` is k / 2^53 and the product is exact. */
export function nextUint53(rng: Rng): number {
  return rng.nextDouble() * TWO_POW_53;
}
