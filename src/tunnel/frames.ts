/**
 * The tunnel's wire format between the two proxies (inside TLS): u8 type, be32 length, payload.
 * The source sends the stream as RAW bytes and pages as NEW (content) or REF (hash); the destination
 * answers with its store's picture at the start, NACK for a page it lacks, ACKs, and DONE or ERROR.
 */
export const FRAME = {
  HELLO: 1, // source → dest: JSON { version, session, forward }
  STORE: 2, // dest → source: u8 epoch length, epoch, then 32-byte hashes
  RAW: 3,
  NEW: 4, // u16 header length, header, 4096-byte content
  REF: 5, // u16 header length, header, 32-byte SHA-256
  DATA: 6, // hash, content: a page the destination asked for again
  END: 7, // the source stream ended
  NACK: 8, // dest → source: hash of a page it does not have
  ACK: 9, // dest → source: be32 REF frames rebuilt so far
  DONE: 10, // dest → source: JSON counters, the rebuilt stream was delivered
  ERROR: 11, // either way: UTF-8 reason, then the connection closes
  BACK: 12, // dest → source: bytes the destination QEMU sends back (the return path)
} as const;

/** Largest frame accepted: a RAW chunk or a page with its header, with room to spare. */
export const MAX_FRAME = 1 << 20;

export function frame(type: number, ...parts: Buffer[]): Buffer {
  const length = parts.reduce((s, p) => s + p.length, 0);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, ...parts], 5 + length);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Splits a byte stream into frames; a frame over MAX_FRAME is a protocol error. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    while (this.buffer.length - at >= 5) {
      const length = this.buffer.readUInt32BE(at + 1);
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes (at most ${MAX_FRAME})`);
      if (this.buffer.length - at - 5 < length) break;
      const type = this.buffer[at] as number;
      const payload = this.buffer.subarray(at + 5, at + 5 + length);
      at += 5 + length;
      this.onFrame(type, payload);
    }
    this.buffer = this.buffer.subarray(at);
  }
}
