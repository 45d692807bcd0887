import type { ByteSource } from './byte-source.js';

const CHUNK = 4 << 20;
/** Room in front of each chunk for the unread tail of the previous one (any record up to this size). */
const HEADROOM = 1 << 20;

/**
 * A sliding window over a ByteSource. Readers parse records in place at `pos` and call `fill` only when
 * a record crosses the end of what is buffered, so the per-record path is synchronous. The next chunk is
 * always being read into a second buffer while this one is parsed, so I/O and decoding overlap.
 * The buffers are owned here: bytes handed to sinks are valid only until the next `fill`.
 */
export class RecordBuffer {
  buf: Buffer = Buffer.allocUnsafe(0);
  pos = 0;
  end = 0;
  /** Absolute input offset of `buf[0]`, for messages that point into the file. */
  base = 0;
  private spare: Buffer = Buffer.allocUnsafe(HEADROOM + CHUNK);
  private pending: Promise<number> | undefined;
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
    while (this.end - this.pos < need) {
      if (this.eof) return false;
      if (this.pending === undefined) this.prefetch();
      const n = await (this.pending as Promise<number>);
      this.pending = undefined;
      if (n === 0) {
        this.eof = true;
        return false;
      }
      const leftover = this.end - this.pos;
      const absolute = this.base + this.pos;
      let next: Buffer;
      let start: number;
      if (leftover <= HEADROOM) {
        // The usual case: the unread tail goes in front of the new chunk, and the buffers swap roles.
        next = this.spare;
        start = HEADROOM - leftover;
        this.buf.copy(next, start, this.pos, this.end);
        this.spare = this.buf.length === HEADROOM + CHUNK ? this.buf : Buffer.allocUnsafe(HEADROOM + CHUNK);
      } else {
        // A record larger than the headroom: join the tail and the chunk in a buffer of their own.
        next = Buffer.allocUnsafe(leftover + n);
        start = 0;
        this.buf.copy(next, 0, this.pos, this.end);
        this.spare.copy(next, leftover, HEADROOM, HEADROOM + n);
      }
      this.buf = next;
      this.pos = start;
      this.end = start + leftover + n;
      this.base = absolute - start;
      this.prefetch();
    }
    return true;
  }

  /** Waits for a read still in flight, so the source can be closed under it safely. */
  async settle(): Promise<void> {
    await this.pending?.catch(() => 0);
    this.pending = undefined;
  }

  private prefetch(): void {
    this.pending = this.source.read(this.spare, HEADROOM, CHUNK);
    // Errors surface at the next `fill`; a reader that stops early never awaits it.
    this.pending.catch(() => undefined);
  }
}
