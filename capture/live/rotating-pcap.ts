import { closeSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writePcapRecordHeader } from '../files/pcap-record.js';

const BUFFER_BYTES = 4 << 20;

/**
 * The raw frames of one interface as classic pcap files (microsecond timestamps) that roll over every
 * `rotateSeconds` of capture time, aligned to UTC, keeping only the newest `keep` files so the disk
 * holds a bounded history. Frames are buffered; `flush()` bounds what a crash can lose.
 */
export class RotatingPcap {
  private readonly buf = Buffer.alloc(BUFFER_BYTES);
  private used = 0;
  private fd = -1;
  private period = Number.NaN;

  constructor(
    private readonly dir: string,
    private readonly name: string,
    private readonly linkType: number,
    private readonly snaplen: number,
    private readonly rotateSeconds: number,
    private readonly keep: number,
  ) {}

  frame(data: Buffer, caplen: number, origLen: number, ts: number): void {
    const period = Math.floor(ts / this.rotateSeconds);
    if (period !== this.period) this.open(period);
    if (this.used + 16 + caplen > this.buf.length) this.flush();
    const p = this.used;
    writePcapRecordHeader(this.buf, p, ts, caplen, origLen);
    data.copy(this.buf, p + 16, 0, caplen);
    this.used += 16 + caplen;
  }

  flush(): void {
    if (this.fd < 0 || this.used === 0) return;
    writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private open(period: number): void {
    this.close();
    this.period = period;
    const stamp = new Date(period * this.rotateSeconds * 1000).toISOString().replace(/[-:]|\.\d+/g, '');
    // A restart within the period starts a file of its own (appending would put a header mid-file).
    for (let n = 0; this.fd < 0; n++) {
      try {
        this.fd = openSync(join(this.dir, `${this.name}-${stamp}${n === 0 ? '' : `-${n}`}.pcap`), 'wx');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(this.snaplen, 16);
    header.writeUInt32LE(this.linkType, 20);
    writeSync(this.fd, header);
    const mine = readdirSync(this.dir)
      .filter((f) => f.startsWith(`${this.name}-`) && f.endsWith('.pcap'))
      .sort();
    for (const old of mine.slice(0, Math.max(0, mine.length - this.keep))) unlinkSync(join(this.dir, old));
  }
}
