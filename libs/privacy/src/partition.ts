import { createHmac } from 'node:crypto';
import { KeyedStreamRng, type Rng } from './rng';

/**
 * The batch of a record in a release with `batches` batches: `HMAC-SHA256(key, recordId) mod
 * batches` (DESIGN.md section 5.1). A record's batch depends on the record and the release's key
 * alone, so adding or removing one record changes exactly one batch; shuffling and chunking would
 * move every later record. The key is drawn per release with `crypto.randomBytes(32)` and stored
 * with it, so a retried or resumed job partitions identically and no record is used twice.
 *
 * The 64-bit prefix of the MAC is reduced mod `batches`; the bias this adds is below
 * `batches / 2^64`, far under anything observable, and it is public anyway (the key is not).
 */
export function batchOfRecord(key: Uint8Array, recordId: string | number | bigint, batches: number): number {
  if (!Number.isInteger(batches) || batches < 1) throw new RangeError(`batchOfRecord: batches must be a positive integer, got ${batches}`);
  if (key.length < 32) throw new RangeError('batchOfRecord: the key must have at least 32 bytes');
  const mac = createHmac('sha256', key).update(`synthgate.partition.v1:${String(recordId)}`).digest();
  return Number(mac.readBigUInt64BE(0) % BigInt(batches));
}

/**
 * The random stream of one batch of a release: AES-256-CTR keyed by `HMAC-SHA256(seed, index)`,
 * where `seed` is a 32-byte secret drawn with `crypto.randomBytes` when the release is created.
 * It is a cryptographically secure generator (DESIGN.md section 4), and it is deterministic per
 * batch: a batch retried after a crash replays the same randomness, so a retry can never act as a
 * second, independently randomised run of the mechanism on the same records.
 */
export function batchRng(seed: Uint8Array, batchIndex: number): Rng {
  if (seed.length !== 32) throw new RangeError('batchRng: the seed must be 32 bytes');
  if (!Number.isInteger(batchIndex) || batchIndex < 0) throw new RangeError(`batchRng: bad batch index ${batchIndex}`);
  return new KeyedStreamRng(createHmac('sha256', seed).update(`synthgate.batch-rng.v1:${batchIndex}`).digest());
}

/**
 * The partition of the non-private reference (epsilon = infinity, benchmark datasets only): the
 * records in the order of their keyed MAC, dealt round-robin, so batch sizes differ by at most one
 * and no batch is empty while there are at least as many records as batches; with fewer records,
 * batch i reuses record `i mod n`. The reference has no guarantee to keep, and an empty batch
 * would decode from the public prompt alone, so the "non-private" figure would mix in public-only
 * examples (at s = 1, about e^-1 = 37% of hash-partitioned batches are empty). Never use it for a
 * private release: one record added moves every later record (see {@link batchOfRecord}).
 */
export function referencePartition<T extends string | number | bigint>(key: Uint8Array, recordIds: readonly T[], batches: number): T[][] {
  if (!Number.isInteger(batches) || batches < 1) throw new RangeError(`referencePartition: batches must be a positive integer, got ${batches}`);
  if (key.length < 32) throw new RangeError('referencePartition: the key must have at least 32 bytes');
  const keyed = recordIds.map((id) => ({ id, mac: createHmac('sha256', key).update(`synthgate.reference-order.v1:${String(id)}`).digest('hex') }));
  keyed.sort((a, b) => (a.mac < b.mac ? -1 : a.mac > b.mac ? 1 : 0));
  const out: T[][] = Array.from({ length: batches }, () => []);
  if (keyed.length === 0) return out;
  if (keyed.length < batches) {
    for (let i = 0; i < batches; i += 1) out[i]!.push(keyed[i % keyed.length]!.id);
    return out;
  }
  keyed.forEach((record, rank) => out[rank % batches]!.push(record.id));
  return out;
}
