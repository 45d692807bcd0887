import { closeSync, openSync, writeSync } from 'node:fs';
import { writePcapRecordHeader } from '../../capture/files/pcap-record.js';

/**
 * Writes a classic little-endian microsecond pcap (LINKTYPE_ETHERNET) through a large reusable buffer.
 * `frame()` returns the region to fill, so builders write headers in place with no per-packet allocation.
 */
export class PcapWriter {
  private readonly buf = Buffer.alloc(8 << 20);
  private used = 0;
  private readonly fd: number;
  frames = 0;
  bytes = 0;

  constructor(path: string, snaplen = 65535) {
    this.fd = openSync(path, 'w');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(snaplen, 16);
    header.writeUInt32LE(1, 20);
    writeSync(this.fd, header);
  }

  /** Reserves a record of `length` bytes at time `ts` (seconds); returns the offset of its data in `buffer`. */
  frame(ts: number, length: number): number {
    if (this.used + 16 + length > this.buf.length) this.flush();
    const p = this.used;
    writePcapRecordHeader(this.buf, p, ts, length, length);
    this.used += 16 + length;
    this.frames++;
    this.bytes += length;
    // Builders write headers only: zero the rest so files are identical from run to run.
    this.buf.fill(0, p + 16, p + 16 + length);
    return p + 16;
  }

  get buffer(): Buffer {
    return this.buf;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }
}
