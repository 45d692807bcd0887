import { CaptureError } from '../capture-error.js';
import { type ByteSource, openByteSource } from './byte-source.js';
import type { FrameSink, ReadSummary } from './frame-sink.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, readPcap } from './pcap-reader.js';
import { PCAPNG_SHB, readPcapng } from './pcapng-reader.js';
import { RecordBuffer } from './record-buffer.js';

/**
 * Streams every frame of a pcap or pcapng capture (optionally gzip-compressed; `-` reads stdin) into
 * `sink`. Damage after the start of the file yields the frames before it plus a warning; a file that is
 * not a capture at all is a CaptureError naming what was found.
 */
export async function readCapture(
  path: string,
  sink: FrameSink,
  /** Given the input once open, to watch how far reading has got (a progress line). */
  onOpen?: (source: ByteSource) => void,
): Promise<ReadSummary> {
  const source = await openByteSource(path);
  onOpen?.(source);
  const rb = new RecordBuffer(source);
  try {
    if (!(await rb.fill(4))) {
      throw new CaptureError('capture_empty', `${source.name} is empty or shorter than any capture header`);
    }
    const le = rb.buf.readUInt32LE(rb.pos);
    const be = rb.buf.readUInt32BE(rb.pos);
    let summary: ReadSummary;
    if (le === PCAPNG_SHB) summary = await readPcapng(rb, sink);
    else if ([le, be].some((m) => m === PCAP_MAGIC_US || m === PCAP_MAGIC_NS))
      summary = await readPcap(rb, sink);
    else throw new CaptureError('capture_unknown_format', unknownMagic(source.name, be));
    if (source.endWarning !== undefined) summary.warnings.push(`${source.name}: ${source.endWarning}`);
    return summary;
  } finally {
    await rb.settle();
    await source.close();
  }
}

function unknownMagic(name: string, magic: number): string {
  const hex = `0x${magic.toString(16).padStart(8, '0')}`;
  const hint =
    magic === 0xa1b2cd34 || magic === 0x34cdb2a1
      ? ' (Alexey Kuznetsov\'s modified pcap: convert it with "editcap -F pcap")'
      : ' (expected pcap a1b2c3d4/a1b23c4d, pcapng 0a0d0d0a, or gzip 1f8b)';
  return `${name}: unknown capture format, magic ${hex}${hint}`;
}
