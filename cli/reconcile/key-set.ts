// The keys the listing has seen, as 8 bytes each: after the listing, a table Scan finds the items of
// keys the bucket no longer has by looking their key up here. 10 million keys take 80 MB; a collision
// (an absent key taken for a listed one, so its extra items go unseen) has odds of about n * m / 2^64
// and a new seed every run, so the next run does not repeat it.
import { createHash, randomBytes } from 'node:crypto';

/** A new random seed, kept in the checkpoint so a resumed run hashes as the first part did. */
export const newSeed = (): string => randomBytes(8).toString('hex');

/** The first 8 bytes of SHA-256(seed, key), as an unsigned 64-bit number. */
export const keyHash = (seed: string, key: string): bigint =>
  createHash('sha256').update(seed).update('\0').update(key).digest().readBigUInt64BE(0);

export class KeySet {
  private hashes: BigUint64Array;
  private count = 0;
  private sorted = false;

  constructor(
    readonly seed: string,
    initial?: BigUint64Array,
  ) {
    this.hashes = initial ?? new BigUint64Array(1024);
    this.count = initial?.length ?? 0;
  }

  get size(): number {
    return this.count;
  }

  add(key: string): void {
    if (this.count === this.hashes.length) {
      const grown = new BigUint64Array(Math.max(1024, this.hashes.length * 2));
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[this.count++] = keyHash(this.seed, key);
    this.sorted = false;
  }

  /** The hashes added from index `from` on, as bytes (the checkpoint appends them to its keys file). */
  bytesFrom(from: number): Buffer {
    const slice = this.hashes.subarray(from, this.count);
    return Buffer.from(slice.buffer, slice.byteOffset, slice.byteLength);
  }

  /** Sorts once; has() binary-searches after that. */
  has(key: string): boolean {
    if (!this.sorted) {
      this.hashes = this.hashes.slice(0, this.count).sort();
      this.sorted = true;
    }
    const wanted = keyHash(this.seed, key);
    let [low, high] = [0, this.count - 1];
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.hashes[middle];
      if (value === wanted) return true;
      if (value < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }

  /** A KeySet from the bytes of a keys file (8 bytes per key, in the machine's byte order). */
  static fromBytes(seed: string, bytes: Buffer): KeySet {
    const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % 8));
    copy.set(bytes.subarray(0, copy.byteLength));
    return new KeySet(seed, new BigUint64Array(copy.buffer));
  }
}
