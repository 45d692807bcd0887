import { CaptureError } from '../capture-error.js';
import { u32 as u32be, u32le } from '../decode/bytes.js';
import { type FrameSink, MAX_RECORD_BYTES, type ReadSummary } from './frame-sink.js';
import type { RecordBuffer } from './record-buffer.js';

/**
 * Classic libpcap format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html):
 *   global header (24 bytes): magic u32 | version u16.u16 | thiszone i32 | sigfigs u32 | snaplen u32 | linktype u32
 *   record header (16 bytes): ts_sec u32 | ts_usec-or-nsec u32 | incl_len u32 | orig_len u32, then incl_len bytes.
 * The magic's byte order gives the file's endianness; a1b23c4d means nanosecond timestamps.
 */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD: writers may claim a smaller snaplen than they use. */
const MIN_RECORD_LIMIT = 262144;

export async function readPcap(rb: RecordBuffer, sink: FrameSink): Promise<ReadSummary> {
  const warnings: string[] = [];
  if (!(await rb.fill(GLOBAL_HEADER))) {
    throw new CaptureError(
      'capture_truncated_header',
      'the pcap global header is cut short (file under 24 bytes)',
    );
  }
  const magicLE = rb.buf.readUInt32LE(rb.pos);
  const le = magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS;
  const magic = le ? magicLE : rb.buf.readUInt32BE(rb.pos);
  const tsDivisor = magic === PCAP_MAGIC_NS ? 1e9 : 1e6;
  const u32 = (o: number) => (le ? u32le(rb.buf, o) : u32be(rb.buf, o));
  const snaplen = u32(rb.pos + 16);
  const linkType = u32(rb.pos + 20) & 0x0fffffff; // upper bits carry FCS flags, not the type
  const limit = Math.min(MAX_RECORD_BYTES, Math.max(snaplen, MIN_RECORD_LIMIT));
  rb.pos += GLOBAL_HEADER;

  let frames = 0;
  for (;;) {
    // Every complete record already buffered, with locals only: this loop runs once per frame.
    const buf = rb.buf;
    const end = rb.end;
    let p = rb.pos;
    while (end - p >= RECORD_HEADER) {
      const inclLen = le ? u32le(buf, p + 8) : u32be(buf, p + 8);
      if (inclLen > limit || end - p - RECORD_HEADER < inclLen) break;
      const origLen = le ? u32le(buf, p + 12) : u32be(buf, p + 12);
      const ts = le
        ? u32le(buf, p) + u32le(buf, p + 4) / tsDivisor
        : u32be(buf, p) + u32be(buf, p + 4) / tsDivisor;
      sink.frame(buf, p + RECORD_HEADER, inclLen, Math.max(origLen, inclLen), ts, linkType);
      frames++;
      p += RECORD_HEADER + inclLen;
    }
    rb.pos = p;
    if (rb.available < RECORD_HEADER && !(await rb.fill(RECORD_HEADER))) {
      if (rb.available > 0) {
        warnings.push(
          `capture truncated at byte ${rb.offset}: a record header is cut short after ${frames} frames; the frames before it were read`,
        );
      }
      break;
    }
    const inclLen = u32(rb.pos + 8);
    if (inclLen > limit) {
      warnings.push(
        `corrupt record at byte ${rb.offset} (frame ${frames + 1}): captured length ${inclLen} exceeds the limit of ${limit}; stopped reading, the ${frames} frames before it were read`,
      );
      break;
    }
    if (!(await rb.fill(RECORD_HEADER + inclLen))) {
      warnings.push(
        `capture truncated at byte ${rb.offset}: frame ${frames + 1} needs ${inclLen} bytes but only ${rb.available - RECORD_HEADER} remain; the ${frames} frames before it were read`,
      );
      break;
    }
  }
  return { format: 'pcap', frames, warnings };
}
