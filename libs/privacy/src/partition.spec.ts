import { createHmac, randomBytes } from 'node:crypto';
import { batchOfRecord, batchRng, referencePartition } from './partition';

describe('batchOfRecord', () => {
  const key = Buffer.alloc(32, 7);

  it('is the HMAC-SHA256 prefix of the record id, modulo the number of batches', () => {
    const mac = createHmac('sha256', key).update('synthgate.partition.v1:12345').digest();
    expect(batchOfRecord(key, '12345', 97)).toBe(Number(mac.readBigUInt64BE(0) % 97n));
    expect(batchOfRecord(key, 12345, 97)).toBe(batchOfRecord(key, '12345', 97));
  });

  it('depends on the record and the key only: adding records moves no other record', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => String(i + 1));
    const before = ids.map((id) => batchOfRecord(key, id, 13));
    const after = [...ids, '999999', '1000000'].map((id) => batchOfRecord(key, id, 13));
    expect(after.slice(0, ids.length)).toEqual(before);
  });

  it('spreads records evenly (chi-square over 20 batches, 20,000 records, p > 1e-4)', () => {
    const counts = new Array<number>(20).fill(0);
    const secret = randomBytes(32);
    for (let id = 1; id <= 20_000; id++) counts[batchOfRecord(secret, id, 20)]! += 1;
    const expected = 1000;
    const chiSquare = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // 19 degrees of freedom: P(X > 50.1) < 1e-4.
    expect(chiSquare).toBeLessThan(50.1);
  });

  it('gives different partitions under different keys', () => {
    const a = Array.from({ length: 100 }, (_, i) => batchOfRecord(Buffer.alloc(32, 1), i, 10));
    const b = Array.from({ length: 100 }, (_, i) => batchOfRecord(Buffer.alloc(32, 2), i, 10));
    expect(a).not.toEqual(b);
  });

  it('refuses a short key and a bad batch count', () => {
    expect(() => batchOfRecord(Buffer.alloc(16), '1', 3)).toThrow(/32 bytes/);
    expect(() => batchOfRecord(key, '1', 0)).toThrow(/positive integer/);
  });
});

describe('batchRng', () => {
  const seed = Buffer.alloc(32, 3);
  const draw = (rng: { nextDouble(): number }) => Array.from({ length: 5 }, () => rng.nextDouble());

  it('replays the same stream for the same batch, and differs across batches and seeds', () => {
    expect(draw(batchRng(seed, 4))).toEqual(draw(batchRng(seed, 4)));
    expect(draw(batchRng(seed, 4))).not.toEqual(draw(batchRng(seed, 5)));
    expect(draw(batchRng(Buffer.alloc(32, 9), 4))).not.toEqual(draw(batchRng(seed, 4)));
  });

  it('is uniform on [0, 1) (mean and variance within 5 standard errors over 100,000 draws)', () => {
    const rng = batchRng(randomBytes(32), 0);
    const n = 100_000;
    let sum = 0;
    let sumSquares = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextDouble();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      sumSquares += u * u;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sumSquares / n - mean * mean - 1 / 12)).toBeLessThan(5 * Math.sqrt(1 / 180 / n));
  });
});

describe('referencePartition (non-private reference only)', () => {
  const key = Buffer.alloc(32, 9);

  it('leaves no batch empty: sizes differ by at most one and every record is used once', () => {
    const ids = Array.from({ length: 103 }, (_, i) => String(i + 1));
    for (const batches of [1, 10, 103]) {
      const out = referencePartition(key, ids, batches);
      const sizes = out.map((batch) => batch.length);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(out.flat().sort()).toEqual([...ids].sort());
    }
    // Hash partitioning at one record per batch leaves about a third of the batches empty.
    const hashed = new Set(ids.map((id) => batchOfRecord(key, id, ids.length)));
    expect(hashed.size).toBeLessThan(ids.length * 0.8);
  });

  it('orders records by the keyed MAC (same key, same partition; another key, another order)', () => {
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    const first = referencePartition(key, ids, 8);
    expect(referencePartition(key, [...ids].reverse(), 8)).toEqual(first);
    expect(referencePartition(Buffer.alloc(32, 10), ids, 8)).not.toEqual(first);
    const order = [...ids].sort((a, b) => {
      const mac = (id: number) => createHmac('sha256', key).update(`synthgate.reference-order.v1:${id}`).digest('hex');
      return mac(a) < mac(b) ? -1 : 1;
    });
    expect(first[0]).toEqual([order[0], order[8], order[16], order[24], order[32]]);
  });

  it('reuses records when there are fewer records than batches, and refuses bad input', () => {
    expect(referencePartition(key, ['a', 'b'], 5).map((batch) => batch.length)).toEqual([1, 1, 1, 1, 1]);
    expect(referencePartition(key, [], 3)).toEqual([[], [], []]);
    expect(() => referencePartition(key, ['a'], 0)).toThrow(RangeError);
    expect(() => referencePartition(Buffer.alloc(8), ['a'], 1)).toThrow(RangeError);
  });
});
