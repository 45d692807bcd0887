import { CaptureError } from '../capture-error.js';
import { type FrameSink, MAX_RECORD_BYTES, type ReadSummary } from './frame-sink.js';
import type { RecordBuffer } from './record-buffer.js';

/**
 * pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/). Every block is
 *   type u32 | total length u32 | body | total length u32
 * in the byte order of its section, which the Section Header Block's byte-order magic sets. Interface IDs
 * restart in each section; each interface has its own link type and timestamp resolution.
 */
export const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const OPB = 2; // obsolete Packet Block
const SPB = 3;
const EPB = 6;
const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Smallest total length of each block type this reader looks into: header and fixed fields and trailer. */
const MIN_TOTAL: Readonly<Record<number, number>> = {
  [PCAPNG_SHB]: 28,
  [IDB]: 20,
  [OPB]: 32,
  [SPB]: 16,
  [EPB]: 32,
};

interface Iface {
  linkType: number;
  snaplen: number;
  /** Seconds per timestamp unit (if_tsresol; microseconds by default). */
  unit: number;
  /** Seconds added to every timestamp (if_tsoffset). */
  offset: number;
}

export async function readPcapng(rb: RecordBuffer, sink: FrameSink): Promise<ReadSummary> {
  const warnings: string[] = [];
  let le = true;
  let ifaces: Iface[] = [];
  let frames = 0;
  let sections = 0;
  let badInterfaceFrames = 0;
  let badBlocks = 0;
  let shortBlocks = 0;
  const u32 = (o: number) => (le ? rb.buf.readUInt32LE(o) : rb.buf.readUInt32BE(o));
  const u16 = (o: number) => (le ? rb.buf.readUInt16LE(o) : rb.buf.readUInt16BE(o));

  for (;;) {
    if (rb.available < 12 && !(await rb.fill(12))) {
      if (rb.available > 0) warnings.push(truncated(rb.offset, frames, 'a block header is cut short'));
      break;
    }
    let p = rb.pos;
    const type = rb.buf.readUInt32LE(p); // SHB type is a palindrome; others are read below in section order
    if (type === PCAPNG_SHB) {
      const bom = rb.buf.readUInt32LE(p + 8);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (rb.buf.readUInt32BE(p + 8) === BYTE_ORDER_MAGIC) le = false;
      else {
        const msg = `pcapng section at byte ${rb.offset} has an invalid byte-order magic 0x${bom.toString(16)}`;
        if (sections === 0) throw new CaptureError('capture_bad_pcapng', msg);
        warnings.push(`${msg}; stopped reading after ${frames} frames`);
        break;
      }
    }
    const blockType = type === PCAPNG_SHB ? type : u32(p);
    const total = u32(p + 4);
    if (total < 12 || total % 4 !== 0 || total > MAX_RECORD_BYTES) {
      const msg = `corrupt pcapng block at byte ${rb.offset}: total length ${total} is invalid`;
      if (sections === 0) throw new CaptureError('capture_bad_pcapng', msg);
      warnings.push(`${msg}; stopped reading, the ${frames} frames before it were read`);
      break;
    }
    if (rb.available < total) {
      if (!(await rb.fill(total))) {
        warnings.push(truncated(rb.offset, frames, `block of ${total} bytes is cut short`));
        break;
      }
      p = rb.pos;
    }
    const bodyEnd = p + total - 4;
    if (total < (MIN_TOTAL[blockType] ?? 12)) {
      // Too short for its own fixed fields: reading them would run into the next block (or past the buffer).
      if (blockType === PCAPNG_SHB && sections === 0) {
        throw new CaptureError(
          'capture_bad_pcapng',
          `pcapng section header at byte ${rb.offset} is only ${total} bytes`,
        );
      }
      shortBlocks++;
    } else if (blockType === EPB || blockType === OPB) {
      const ifId = blockType === EPB ? u32(p + 8) : u16(p + 8);
      const caplen = u32(p + 20);
      const iface = ifaces[ifId];
      if (iface === undefined) badInterfaceFrames++;
      else if (p + 28 + caplen > bodyEnd) badBlocks++;
      else {
        const ticks = u32(p + 12) * 4294967296 + u32(p + 16);
        const origLen = u32(p + 24);
        sink.frame(
          rb.buf,
          p + 28,
          caplen,
          Math.max(origLen, caplen),
          ticks * iface.unit + iface.offset,
          iface.linkType,
        );
        frames++;
      }
    } else if (blockType === SPB) {
      const iface = ifaces[0];
      if (iface === undefined) badInterfaceFrames++;
      else {
        const origLen = u32(p + 8);
        let caplen = Math.min(origLen, bodyEnd - (p + 12));
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        // SPBs carry no timestamp.
        sink.frame(rb.buf, p + 12, caplen, origLen, 0, iface.linkType);
        frames++;
      }
    } else if (blockType === IDB) {
      ifaces.push(parseIdb(p, bodyEnd, u16, u32, rb.buf, le));
    } else if (blockType === PCAPNG_SHB) {
      const major = u16(p + 12);
      const minor = u16(p + 14);
      if (major !== 1) {
        const msg = `unsupported pcapng version ${major}.${minor} in the section at byte ${rb.offset} (only 1.x exists)`;
        if (sections === 0) throw new CaptureError('capture_bad_pcapng', msg);
        warnings.push(`${msg}; stopped reading after ${frames} frames`);
        break;
      }
      sections++;
      ifaces = [];
    }
    // Other blocks (name resolution, statistics, custom, decryption secrets) carry no frames.
    rb.pos = p + total;
  }
  if (badInterfaceFrames > 0) {
    warnings.push(
      `${badInterfaceFrames} packet blocks name an interface the section does not define; skipped`,
    );
  }
  if (badBlocks > 0)
    warnings.push(`${badBlocks} packet blocks claim more data than the block holds; skipped`);
  if (shortBlocks > 0)
    warnings.push(`${shortBlocks} blocks are shorter than their type's fixed fields; skipped`);
  return { format: 'pcapng', frames, warnings };
}

function truncated(offset: number, frames: number, what: string): string {
  return `capture truncated at byte ${offset}: ${what}; the ${frames} frames before it were read`;
}

/** Interface Description Block: link type u16 | reserved u16 | snaplen u32 | options. */
function parseIdb(
  p: number,
  bodyEnd: number,
  u16: (o: number) => number,
  u32: (o: number) => number,
  buf: Buffer,
  le: boolean,
): Iface {
  const iface: Iface = { linkType: u16(p + 8), snaplen: u32(p + 12), unit: 1e-6, offset: 0 };
  let o = p + 16;
  while (o + 4 <= bodyEnd) {
    const code = u16(o);
    const len = u16(o + 2);
    const value = o + 4;
    if (code === OPT_END || value + len > bodyEnd) break;
    if (code === OPT_IF_TSRESOL && len >= 1) {
      const r = buf[value] ?? 6;
      // High bit set: negative power of two; otherwise negative power of ten.
      iface.unit = r & 0x80 ? 2 ** -(r & 0x7f) : 10 ** -r;
    } else if (code === OPT_IF_TSOFFSET && len >= 8) {
      iface.offset = Number(le ? buf.readBigInt64LE(value) : buf.readBigInt64BE(value));
    }
    o = value + ((len + 3) & ~3);
  }
  return iface;
}
