import type { Duplex } from 'node:stream';

/**
 * The tunnel's wire format between the two proxies (inside TLS): u8 type, be32 length, payload.
 * The source sends the stream as RAW bytes and pages as NEW (content) or REF (hash); the destination
 * answers with its store's picture at the start (the hashes stored since the source's last session, or
 * a filter of the whole store when that is smaller), NACK for a page it lacks, ACKs, and DONE or ERROR.
 */
export const FRAME = {
  HELLO: 1, // source → dest: JSON { version, session, forward }
  STORE: 2, // dest → source: u8 epoch length, epoch, then 32-byte hashes; as many as needed, then READY
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
  READY: 13, // dest → source: the store's picture is complete, the stream may start
  FILTER: 14, // dest → source: u8 epoch length, epoch, one shard of a filter of the whole store (page-filter.ts)
} as const;

/** Hashes per STORE frame, well under MAX_FRAME. */
export const STORE_HASHES = 16384;

/** Largest frame accepted: a RAW chunk or a page with its header, with room to spare. */
export const MAX_FRAME = 1 << 20;

export function frame(type: number, ...parts: Buffer[]): Buffer {
  const length = parts.reduce((s, p) => s + p.length, 0);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, ...parts], 5 + length);
}

const EIGHT = Buffer.from([0, 8]); // the usual page header length, not allocated per page

export function u16(n: number): Buffer {
  if (n === 8) return EIGHT;
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Splits a byte stream into frames; a frame over MAX_FRAME is a protocol error. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (type: number, payload: Buffer) => void) {}

  /** Bytes of a frame received in part. */
  get pending(): number {
    return this.buffer.length;
  }

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

/** How long a peer may stay silent while it owes something (default of both proxies' stallMs). */
export const STALL_MS = 30_000;

/**
 * Times out a peer that goes silent while it owes something: its handshake, or the rest of a frame.
 * Silence between frames is a link's normal state (a ready disk mirror sends nothing for minutes), and
 * so is silence while this side has paused the link. `owed` names what is awaited, or null; `stalled`
 * gets the reason. The returned timer is to be cleared when the session ends.
 */
export function watchStall(
  link: Duplex,
  ms: number,
  owed: () => string | null,
  stalled: (reason: string) => void,
): NodeJS.Timeout {
  const timer: NodeJS.Timeout = setTimeout(() => {
    const what = link.isPaused() ? null : owed();
    if (what === null) timer.refresh();
    else stalled(`stalled for ${ms / 1000} s ${what}`);
  }, ms);
  link.on('data', () => timer.refresh());
  return timer;
}

const BATCH = 256 * 1024;

/**
 * Packs frames into large buffers, so a stream of 4 KiB pages costs an allocation per batch, not per
 * page; page content is not copied but handed on as a view between two slices of the batch.
 * Consecutive raw bytes share one RAW frame. `flush` hands the pieces to `write`, in order.
 */
export class FrameWriter {
  private out = Buffer.allocUnsafe(BATCH);
  private pos = 0;
  /** Start of the part of `out` not yet handed out as a piece. */
  private start = 0;
  private pieces: Buffer[] = [];
  private rawAt = -1; // where the open RAW frame's header is

  constructor(private readonly write: (piece: Buffer) => void) {}

  raw(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      if (this.rawAt < 0) {
        if (BATCH - this.pos < 5 + 1) this.newBatch();
        this.rawAt = this.pos;
        this.pos += 5;
      }
      const n = Math.min(bytes.length - at, BATCH - this.pos);
      bytes.copy(this.out, this.pos, at, at + n);
      this.pos += n;
      at += n;
      if (this.pos === BATCH) this.newBatch();
    }
  }

  frame(type: number, ...parts: Buffer[]): void {
    this.closeRaw();
    const length = parts.reduce((s, p) => s + p.length, 0);
    if (BATCH - this.pos < 5 + length) this.newBatch();
    if (5 + length > BATCH) {
      this.pieces.push(frame(type, ...parts));
      return;
    }
    this.out[this.pos] = type;
    this.out.writeUInt32BE(length, this.pos + 1);
    this.pos += 5;
    for (const p of parts) this.pos += p.copy(this.out, this.pos);
  }

  /** A NEW frame: its head goes in the batch, the content (a view the caller never changes) alongside. */
  page(header: Buffer, content: Buffer): void {
    this.closeRaw();
    if (BATCH - this.pos < 7 + header.length) this.newBatch();
    this.out[this.pos] = FRAME.NEW;
    this.out.writeUInt32BE(2 + header.length + content.length, this.pos + 1);
    this.out.writeUInt16BE(header.length, this.pos + 5);
    this.pos += 7 + header.copy(this.out, this.pos + 7);
    this.pieces.push(this.out.subarray(this.start, this.pos), content);
    this.start = this.pos;
  }

  /** A REF frame, the hash given as its latin1 key (see hashKey). */
  ref(header: Buffer, key: string): void {
    this.closeRaw();
    const length = 2 + header.length + 32;
    if (BATCH - this.pos < 5 + length) this.newBatch();
    this.out[this.pos] = FRAME.REF;
    this.out.writeUInt32BE(length, this.pos + 1);
    this.out.writeUInt16BE(header.length, this.pos + 5);
    this.pos += 7 + header.copy(this.out, this.pos + 7);
    this.pos += this.out.write(key, this.pos, 'latin1');
  }

  flush(): void {
    this.closeRaw();
    this.cut();
    for (const piece of this.pieces) this.write(piece);
    this.pieces = [];
  }

  /** The batch is full: what it holds becomes a piece, and writing goes on in a new one. */
  private newBatch(): void {
    this.closeRaw();
    this.cut();
    this.out = Buffer.allocUnsafe(BATCH);
    this.pos = 0;
    this.start = 0;
  }

  private cut(): void {
    if (this.pos > this.start) this.pieces.push(this.out.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  private closeRaw(): void {
    if (this.rawAt < 0) return;
    this.out[this.rawAt] = FRAME.RAW;
    this.out.writeUInt32BE(this.pos - this.rawAt - 5, this.rawAt + 1);
    this.rawAt = -1;
  }
}
