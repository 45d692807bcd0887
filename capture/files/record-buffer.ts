import type { ByteSource } from './byte-source.js';

const CHUNK = 4 << 20;

/**
 * A sliding window over a ByteSource. Readers parse records in place at `pos` and call `fill` only when
 * a record crosses the end of what is buffered, so the per-record path is synchronous.
 * The buffer is owned here: slices handed to sinks are valid only until the next `fill`.
 */
export class RecordBuffer {
  buf: Buffer = Buffer.allocUnsafe(CHUNK);
  pos = 0;
  end = 0;
  /** Absolute file offset of `buf[0]`, for messages that point into the file. */
  base = 0;
  private eof = false;

  constructor(private readonly source: ByteSource) {}

  get available(): number {
    return this.end - this.pos;
  }

  /** Absolute offset of `pos` in the input. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Makes at least `need` bytes available at `pos`; false when the input ends first. */
  async fill(need: number): Promise<boolean> {
    if (this.end - this.pos >= need) return true;
    if (this.eof) return false;
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < need) {
      const n = await this.source.read(this.buf, this.end, this.buf.length - this.end);
      if (n === 0) {
        this.eof = true;
        return false;
      }
      this.end += n;
    }
    return true;
  }
}
