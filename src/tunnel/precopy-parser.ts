/**
 * A streaming parser of QEMU's precopy migration stream (format version 3), as far as the RAM pages
 * go: it splits the stream into RAM page records (header and 4 KiB of content, which the tunnel may
 * deduplicate) and everything else (forwarded as is). It never rewrites a byte: concatenating what it
 * emits gives back the input. From the first thing it does not fully understand (a device section, an
 * unknown flag, a capability that hides pages) it passes everything through; `passthrough` says where
 * and why.
 */
export const PAGE_SIZE = 4096;

const MAGIC = 0x5145564d; // "QEVM"
const SECTION = {
  EOF: 0x00,
  START: 0x01,
  PART: 0x02,
  END: 0x03,
  FULL: 0x04,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
};
const FOOTER = 0x7e;
const RAM = {
  MEM_SIZE: 0x04,
  ZERO: 0x02,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  HOOK: 0x80,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
};
const KNOWN_FLAGS = 0x3fe;

export interface StreamSink {
  /** Bytes to forward unchanged (a view of the input, valid during the call). */
  raw(bytes: Buffer): void;
  /**
   * A RAM page record: its header (offset|flags, maybe the block name) and its content. Both are views
   * of the input, valid during the call: copy what you keep.
   */
  page(header: Buffer, content: Buffer): void;
  /** A zero page, which QEMU already encodes in a few bytes (forwarded with the raw bytes). */
  zero(): void;
}

export interface Passthrough {
  /** Stream offset from which everything was forwarded unparsed. */
  offset: number;
  reason: string;
  /** Whether RAM had ended: if not, pages after this point are not deduplicated. */
  ramEnded: boolean;
}

type Need = { bytes: number; parse: (b: Buffer) => void; ram?: true };
const CONTINUED_PAGE = RAM.PAGE | RAM.CONTINUE;
const CONTINUED_ZERO = RAM.ZERO | RAM.CONTINUE;
/** Enough of the next chunk to finish any page record the previous one cut. */
const BRIDGE = 2 * (8 + 256 + PAGE_SIZE);
/**
 * Longest record read whole (a configuration name, a compressed page: QEMU's are a few KiB). A length
 * past it is not a stream this parser knows, and waiting for it would hold the stream in memory.
 */
const MAX_RECORD = 1 << 20;

export class PrecopyParser {
  private buffer: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private steps: Need[] = [];
  private ramSection = -1;
  private ramEnded = false;
  private memSizeLeft = 0;
  /** Bytes handed to the sink; behind `consumed` while a record is read in steps. */
  private emitted = 0;
  /** The steps read of the record in progress: a stream cut inside it still gives them back. */
  private held: Buffer[] = [];
  private readonly sink: StreamSink;
  passthrough: Passthrough | null = null;

  constructor(sink: StreamSink) {
    this.sink = {
      raw: (b) => {
        this.emitted += b.length;
        sink.raw(b);
      },
      page: (header, content) => {
        this.emitted += header.length + content.length;
        sink.page(header, content);
      },
      zero: () => sink.zero(),
    };
    this.need(8, (b) => {
      if (b.readUInt32BE(0) !== MAGIC)
        return this.giveUp(-8, 'not a QEMU migration stream (no QEVM magic)', b);
      if (b.readUInt32BE(4) !== 3) return this.giveUp(-8, `stream version ${b.readUInt32BE(4)}, not 3`, b);
      this.sink.raw(b);
      this.section();
    });
  }

  write(chunk: Buffer): void {
    const carry = this.buffer;
    if (carry.length === 0) {
      this.keep(chunk, this.process(chunk));
      return;
    }
    // Bytes left from the previous chunk are joined with the start of this one only, so the whole
    // chunk is not copied for a record that straddles the two.
    const bridge = Buffer.concat([carry, chunk.subarray(0, BRIDGE)]);
    const used = this.process(bridge);
    if (used < carry.length) {
      const all = Buffer.concat([carry.subarray(used), chunk]); // a record longer than the bridge (rare)
      this.keep(all, this.process(all));
      return;
    }
    const rest = chunk.subarray(Math.min(chunk.length, used - carry.length));
    this.keep(rest, this.process(rest));
  }

  private keep(buffer: Buffer, used: number): void {
    this.buffer = buffer.subarray(used);
  }

  /** Parses what it can of `buffer`; returns how many bytes it consumed (all of them once passing through). */
  private process(buffer: Buffer): number {
    if (this.passthrough !== null) {
      if (buffer.length > 0) this.sink.raw(buffer);
      return buffer.length;
    }
    this.buffer = buffer;
    let at = 0;
    while (this.passthrough === null && this.steps.length > 0) {
      const step = this.steps[0] as Need;
      if (step.ram) at = this.continuedRecords(at);
      if (buffer.length - at < step.bytes) break;
      this.steps.shift();
      const bytes = buffer.subarray(at, at + step.bytes);
      at += step.bytes;
      this.consumed += step.bytes;
      this.held.push(bytes);
      step.parse(bytes);
      if (this.emitted === this.consumed) this.held = [];
      if (this.passthrough !== null) {
        if (at < buffer.length) this.sink.raw(buffer.subarray(at));
        return buffer.length;
      }
    }
    return at;
  }

  /** Whatever is left unparsed at the end of the stream (a cut stream) goes out as is. */
  end(): void {
    if (this.passthrough === null && this.emitted < this.consumed) {
      const held = Buffer.concat(this.held);
      this.sink.raw(held.subarray(held.length - (this.consumed - this.emitted)));
    }
    this.held = [];
    if (this.buffer.length > 0) this.sink.raw(this.buffer);
    this.buffer = Buffer.alloc(0);
  }

  /** Reads `bytes` next, then `then`; a length no record has gives up, handing on `sofar` as read. */
  private need(bytes: number, then: (b: Buffer) => void, sofar?: Buffer): void {
    if (bytes > MAX_RECORD && sofar !== undefined)
      this.giveUp(-sofar.length, `a record of ${bytes} bytes`, sofar);
    else this.steps.push({ bytes, parse: then });
  }

  /**
   * The hot path: most of a stream is page and zero-page records continuing the previous block. They
   * are taken straight from the buffer, without the step machinery; anything else goes back to it.
   */
  private continuedRecords(start: number): number {
    const b = this.buffer;
    let at = start;
    for (;;) {
      if (b.length - at < 8) break;
      const flags = b.readUInt16BE(at + 6) & 0xfff;
      if (flags === CONTINUED_PAGE) {
        if (b.length - at < 8 + PAGE_SIZE) break;
        this.sink.page(b.subarray(at, at + 8), b.subarray(at + 8, at + 8 + PAGE_SIZE));
        at += 8 + PAGE_SIZE;
      } else if (flags === CONTINUED_ZERO) {
        if (b.length - at < 9) break;
        this.sink.raw(b.subarray(at, at + 9));
        this.sink.zero();
        at += 9;
      } else break;
    }
    this.consumed += at - start;
    return at;
  }

  /** Forwards `prefix` and everything after it unparsed; `back` is how far before `consumed` it began. */
  private giveUp(back: number, reason: string, prefix?: Buffer): void {
    if (prefix !== undefined) this.sink.raw(prefix);
    this.passthrough = { offset: this.consumed + back, reason, ramEnded: this.ramEnded };
    this.steps = [];
  }

  private section(): void {
    this.need(1, (t) => {
      const type = t[0] as number;
      switch (type) {
        case SECTION.CONFIGURATION:
          return this.need(4, (len) => {
            this.need(
              len.readUInt32BE(0),
              (name) => {
                this.sink.raw(Buffer.concat([t, len, name]));
                this.section();
              },
              Buffer.concat([t, len]),
            );
          });
        case SECTION.COMMAND:
          return this.need(4, (h) => {
            this.need(h.readUInt16BE(2), (data) => {
              this.sink.raw(Buffer.concat([t, h, data]));
              this.section();
            });
          });
        case SECTION.START:
        case SECTION.FULL:
          return this.need(5, (h) => {
            this.need(h[4] as number, (id) => {
              this.need(8, (versions) => {
                const head = Buffer.concat([t, h, id, versions]);
                if (id.toString('latin1') !== 'ram' || type !== SECTION.START)
                  return this.giveUp(-head.length, this.deviceReason(id.toString('latin1')), head);
                this.ramSection = h.readUInt32BE(0);
                this.sink.raw(head);
                this.ramRecord();
              });
            });
          });
        case SECTION.PART:
        case SECTION.END:
          return this.need(4, (h) => {
            const head = Buffer.concat([t, h]);
            if (h.readUInt32BE(0) !== this.ramSection)
              return this.giveUp(-head.length, this.deviceReason(`section ${h.readUInt32BE(0)}`), head);
            this.sink.raw(head);
            if (type === SECTION.END) this.ramEnded = true;
            this.ramRecord();
          });
        default:
          return this.giveUp(
            -1,
            type === SECTION.EOF ? 'end of stream' : `section type 0x${type.toString(16)}`,
            t,
          );
      }
    });
  }

  private deviceReason(what: string): string {
    return this.ramEnded
      ? `device state (${what}) after RAM`
      : `device state (${what}) before RAM ended: pages after it are not deduplicated (a QEMU version or capability change?)`;
  }

  private ramRecord(): void {
    this.steps.push({ bytes: 8, ram: true, parse: (h) => this.ramHeader(h) });
  }

  private ramHeader(h: Buffer): void {
    const flags = Number(h.readBigUInt64BE(0) & 0xfffn);
    if ((flags & ~KNOWN_FLAGS) !== 0 || flags & RAM.HOOK) {
      this.giveUp(-8, `RAM record flags 0x${flags.toString(16)} (RDMA or an unknown feature)`, h);
    } else if (flags & RAM.MEM_SIZE) {
      this.memSizeLeft = Number(h.readBigUInt64BE(0) & ~0xfffn);
      this.sink.raw(h);
      this.memBlock();
    } else if (flags & RAM.EOS) {
      this.sink.raw(h);
      this.footer();
    } else if (flags & RAM.MULTIFD_FLUSH && (flags & ~RAM.MULTIFD_FLUSH) === 0) {
      this.sink.raw(h);
      this.ramRecord();
    } else if (flags & RAM.CONTINUE) {
      this.pageBody(h, flags);
    } else {
      this.need(1, (len) =>
        this.need(len[0] as number, (id) => this.pageBody(Buffer.concat([h, len, id]), flags)),
      );
    }
  }

  /** The block list after MEM_SIZE: (u8 len, name, be64 used length) until the sizes add up. */
  private memBlock(): void {
    if (this.memSizeLeft <= 0) {
      this.ramRecord();
      return;
    }
    this.need(1, (len) => {
      this.need((len[0] as number) + 8, (rest) => {
        this.memSizeLeft -= Number(rest.readBigUInt64BE(len[0] as number));
        this.sink.raw(Buffer.concat([len, rest]));
        this.memBlock();
      });
    });
  }

  private pageBody(header: Buffer, flags: number): void {
    if (flags & RAM.ZERO) {
      this.need(1, (fill) => {
        this.sink.raw(Buffer.concat([header, fill]));
        this.sink.zero();
        this.ramRecord();
      });
    } else if (flags & RAM.PAGE) {
      this.need(PAGE_SIZE, (content) => {
        this.sink.page(header, content);
        this.ramRecord();
      });
    } else if (flags & RAM.XBZRLE) {
      this.need(3, (h) => {
        this.need(h.readUInt16BE(1), (data) => {
          this.sink.raw(Buffer.concat([header, h, data]));
          this.ramRecord();
        });
      });
    } else if (flags & RAM.COMPRESS_PAGE) {
      this.need(4, (len) => {
        this.need(
          len.readUInt32BE(0),
          (data) => {
            this.sink.raw(Buffer.concat([header, len, data]));
            this.ramRecord();
          },
          Buffer.concat([header, len]),
        );
      });
    } else this.giveUp(-header.length, `RAM record flags 0x${flags.toString(16)}`, header);
  }

  private footer(): void {
    this.need(1, (f) => {
      if (f[0] !== FOOTER)
        return this.giveUp(-1, `no section footer after RAM (0x${(f[0] as number).toString(16)})`, f);
      this.need(4, (id) => {
        this.sink.raw(Buffer.concat([f, id]));
        this.section();
      });
    });
  }
}
