/**
 * Sums per integer key (a pair of numbered members, a * n + b), in typed arrays with open addressing:
 * a community can have millions of pairs, where a Map's entries cost the garbage collector more than
 * the classification itself.
 */
export class PairTable {
  private keys: Float64Array;
  private sums: Float64Array;
  private mask = 0;
  /** 32 minus log2 of the capacity: a slot is the top bits of the key's multiplicative hash. */
  private shift = 0;
  size = 0;

  constructor(expected: number) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(0);
    this.sums = new Float64Array(0);
    this.allocate(capacity);
  }

  /** Adds `value` to the sum of `key` (a non-negative integer below 2^53). */
  add(key: number, value: number): void {
    const slot = this.slot(key);
    if (this.keys[slot] === -1) {
      this.keys[slot] = key;
      this.size++;
      if (this.size * 2 > this.keys.length) {
        this.sums[slot] = value;
        this.grow();
        return;
      }
    }
    this.sums[slot] = (this.sums[slot] as number) + value;
  }

  /** The sum of `key`, 0 when it was never added. */
  get(key: number): number {
    const slot = this.slot(key);
    return this.keys[slot] === -1 ? 0 : (this.sums[slot] as number);
  }

  forEach(f: (key: number, sum: number) => void): void {
    for (let i = 0; i < this.keys.length; i++)
      if (this.keys[i] !== -1) f(this.keys[i] as number, this.sums[i] as number);
  }

  private slot(key: number): number {
    const hi = Math.floor(key / 4294967296);
    let i = Math.imul((key >>> 0) ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b) >>> this.shift;
    while (this.keys[i] !== -1 && this.keys[i] !== key) i = (i + 1) & this.mask;
    return i;
  }

  private allocate(capacity: number): void {
    this.keys = new Float64Array(capacity).fill(-1);
    this.sums = new Float64Array(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.size = 0;
  }

  private grow(): void {
    const [keys, sums] = [this.keys, this.sums];
    this.allocate(keys.length * 2);
    for (let i = 0; i < keys.length; i++) if (keys[i] !== -1) this.add(keys[i] as number, sums[i] as number);
  }
}
