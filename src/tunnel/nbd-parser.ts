import { PAGE_SIZE, type Passthrough, type StreamSink } from './precopy-parser.js';

/**
 * A streaming parser of the client side of an NBD connection (newstyle fixed negotiation, simple
 * request headers), as a disk mirror's NBD client sends it: it splits the data of each write request
 * into 4 KiB blocks aligned on the disk, which the tunnel may deduplicate (against memory pages too:
 * one store, one block size), and forwards everything else as is. Concatenating what it emits gives
 * back the input. From anything it does not know (extended headers, an unknown magic) it passes
 * everything through; `passthrough` says where and why.
 */
const OPTION_MAGIC = 0x49484156; // "IHAV", the first half of IHAVEOPT
const REQUEST_MAGIC = 0x25609513;
const CMD_WRITE = 1;
const OPTION_HEADER = 16;
const REQUEST_HEADER = 28;
/** Option data past this is not a negotiation we know. */
const MAX_OPTION = 1 << 20;
/** NBD's largest request is 32 MiB (QEMU's NBD_MAX_BUFFER_SIZE); more is not a stream we know. */
const MAX_WRITE = 32 << 20;
const NO_HEADER = Buffer.alloc(0);

type State = 'flags' | 'message' | 'option' | 'write';

export class NbdParser {
  passthrough: Passthrough | null = null;
  private state: State = 'flags';
  /** Bytes of a header or a block that the last chunk cut. */
  private carry: Buffer = Buffer.alloc(0);
  private consumed = 0;
  /** Option data or write data still to come in the current message. */
  private left = 0;
  /** Disk offset of the next byte of write data. */
  private diskOffset = 0;

  constructor(private readonly sink: StreamSink) {}

  write(chunk: Buffer): void {
    const b = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    let at = 0;
    while (at < b.length) {
      if (this.passthrough !== null) {
        this.sink.raw(b.subarray(at));
        at = b.length;
        break;
      }
      const used = this.step(b, at);
      if (used === 0 && this.passthrough === null) break;
      at += used;
      this.consumed += used;
    }
    this.carry = b.subarray(at);
  }

  /** Whatever is left unparsed at the end of the stream (a cut stream) goes out as is. */
  end(): void {
    if (this.carry.length > 0) this.sink.raw(this.carry);
    this.carry = Buffer.alloc(0);
  }

  /** Consumes one piece at `at`; 0 when it needs more bytes first. */
  private step(b: Buffer, at: number): number {
    const avail = b.length - at;
    switch (this.state) {
      case 'flags':
        if (avail < 4) return 0;
        this.sink.raw(b.subarray(at, at + 4));
        this.state = 'message';
        return 4;
      case 'message': {
        if (avail < 4) return 0;
        const magic = b.readUInt32BE(at);
        if (magic === OPTION_MAGIC) {
          if (avail < OPTION_HEADER) return 0;
          this.left = b.readUInt32BE(at + 12);
          if (this.left > MAX_OPTION) return this.giveUp(`an option of ${this.left} bytes`);
          this.sink.raw(b.subarray(at, at + OPTION_HEADER));
          this.state = this.left > 0 ? 'option' : 'message';
          return OPTION_HEADER;
        }
        if (magic !== REQUEST_MAGIC)
          return this.giveUp(`magic 0x${magic.toString(16)}, not an NBD option or simple request`);
        if (avail < REQUEST_HEADER) return 0;
        const type = b.readUInt16BE(at + 6);
        const length = b.readUInt32BE(at + 24);
        if (type === CMD_WRITE && length > MAX_WRITE) return this.giveUp(`a write of ${length} bytes`);
        this.sink.raw(b.subarray(at, at + REQUEST_HEADER));
        if (type === CMD_WRITE && length > 0) {
          this.left = length;
          this.diskOffset = Number(b.readBigUInt64BE(at + 16));
          this.state = 'write';
        }
        return REQUEST_HEADER;
      }
      case 'option': {
        const n = Math.min(avail, this.left);
        this.sink.raw(b.subarray(at, at + n));
        this.left -= n;
        if (this.left === 0) this.state = 'message';
        return n;
      }
      case 'write': {
        // Blocks are aligned on the disk, so the same block of two disks has the same content.
        const misaligned = this.diskOffset % PAGE_SIZE;
        let n: number;
        if (misaligned !== 0 || this.left < PAGE_SIZE) {
          n = Math.min(avail, this.left, misaligned === 0 ? this.left : PAGE_SIZE - misaligned);
          this.sink.raw(b.subarray(at, at + n));
        } else {
          if (avail < PAGE_SIZE) return 0;
          n = PAGE_SIZE;
          this.sink.page(NO_HEADER, b.subarray(at, at + PAGE_SIZE));
        }
        this.left -= n;
        this.diskOffset += n;
        if (this.left === 0) this.state = 'message';
        return n;
      }
    }
  }

  private giveUp(reason: string): number {
    this.passthrough = { offset: this.consumed, reason, ramEnded: false };
    return 0;
  }
}
