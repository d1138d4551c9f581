import { createCipheriv, createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CryptoRng, type Rng, SeededRng, nextUint53 } from './rng';
import { chiSquareTest } from './testing/statistical-tests';

const TWO_POW_53 = 2 ** 53;

/**
 * Checks that `n` draws are 53-bit dyadic values in [0, 1) and that each of the 53 bit positions
 * is 1 with frequency 1/2 within 5 standard errors (5 * 0.5 / sqrt(n)); a generator that left the
 * low bits constant (e.g. 32 random bits scaled) fails on the low positions.
 */
function expectFull53BitUniform(rng: Rng, n: number): void {
  const ones = new Array<number>(53).fill(0);
  const bins = new Array<number>(64).fill(0);
  let malformed = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.nextDouble();
    const k = u * TWO_POW_53;
    if (!(u >= 0 && u < 1 && Number.isInteger(k))) malformed += 1;
    bins[Math.floor(u * 64)] += 1;
    let rest = k;
    for (let bit = 0; bit < 53; bit++) {
      ones[bit] += rest % 2;
      rest = Math.floor(rest / 2);
    }
  }
  expect(malformed).toBe(0);
  const tolerance = (5 * 0.5) / Math.sqrt(n);
  for (const count of ones) expect(Math.abs(count / n - 0.5)).toBeLessThan(tolerance);
  // 64 equal bins: chi-square p-value above 1e-4 (a correct generator fails 1 seed in 10,000).
  expect(chiSquareTest(bins, new Array<number>(64).fill(1 / 64)).pValue).toBeGreaterThan(1e-4);
}

describe('SeededRng', () => {
  it('is deterministic per seed, and distinguishes seeds and their types', () => {
    const a = new SeededRng(42);
    const b = new SeededRng(42);
    const first = Array.from({ length: 2000 }, () => a.nextDouble()); // crosses a buffer refill
    expect(Array.from({ length: 2000 }, () => b.nextDouble())).toEqual(first);
    expect(new SeededRng(43).nextDouble()).not.toBe(first[0]);
    expect(new SeededRng('42').nextDouble()).not.toBe(first[0]);
  });

  it('produces a pinned stream (AES-256-CTR under SHA-256 of the seed), the same on every platform', () => {
    const rng = new SeededRng('synthgate');
    const values = [rng.nextDouble(), rng.nextDouble(), rng.nextDouble()].map((u) => u * TWO_POW_53);
    // Pinned on first implementation; a change here silently changes every seeded test and benchmark.
    expect(values).toEqual(PINNED_SYNTHGATE_STREAM);
    // And the pinned values follow from the documented construction, rebuilt here independently.
    const key = createHash('sha256').update('synthgate.SeededRng.v1\u0000string:synthgate').digest();
    const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(24));
    const rebuilt = [0, 8, 16].map((o) => (stream.readUInt32LE(o) >>> 5) * 2 ** 26 + (stream.readUInt32LE(o + 4) >>> 6));
    expect(rebuilt).toEqual(PINNED_SYNTHGATE_STREAM);
  });

  it('draws uniform doubles with all 53 bits random', () => {
    expectFull53BitUniform(new SeededRng('bits'), 20_000);
  });
});

describe('CryptoRng', () => {
  it('draws uniform doubles with all 53 bits random, across buffer refills', () => {
    expectFull53BitUniform(new CryptoRng(), 20_000);
  });

  it('two instances give different streams', () => {
    expect(new CryptoRng().nextDouble()).not.toBe(new CryptoRng().nextDouble());
  });
});

describe('nextUint53', () => {
  it('is an exact integer in [0, 2^53)', () => {
    const rng = new SeededRng(1);
    for (let i = 0; i < 1000; i++) {
      const k = nextUint53(rng);
      expect(Number.isSafeInteger(k) && k >= 0 && k < TWO_POW_53).toBe(true);
    }
  });
});

describe('randomness hygiene', () => {
  // DESIGN.md section 4: privacy-relevant randomness is injected; Math.random never appears.
  it('no source file under libs/privacy or libs/generation calls Math.random', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts') && !path.endsWith('.spec.ts') && /Math\s*\.\s*random/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    const libs = join(__dirname, '..', '..');
    for (const lib of ['privacy', 'generation']) walk(join(libs, lib, 'src'));
    expect(offenders).toEqual([]);
  });
});

const PINNED_SYNTHGATE_STREAM = [2352706088899889, 8996674031553001, 6885602199579605];
