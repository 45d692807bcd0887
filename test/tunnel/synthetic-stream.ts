import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';

export const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
export const be64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
export const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)]);

/** A page whose content is determined by `n` (distinct n, distinct content). */
export function numberedPage(n: number): Buffer {
  const p = Buffer.alloc(PAGE_SIZE, n & 0xff);
  p.writeUInt32BE(n, 0);
  return p;
}

/** A minimal QEMU 7.2 precopy stream of one RAM block holding `pages`, then an empty device section. */
export function ramStream(pages: Buffer[]): Buffer {
  const ram = 2;
  const size = BigInt(pages.length * PAGE_SIZE);
  const parts: Buffer[] = [
    Buffer.from('QEVM'),
    be32(3),
    Buffer.from([0x01]),
    be32(ram),
    str('ram'),
    be32(0),
    be32(4),
  ];
  parts.push(be64(size | 0x04n), str('pc.ram'), be64(size), be64(0x10n), Buffer.from([0x7e]), be32(ram));
  parts.push(Buffer.from([0x02]), be32(ram));
  pages.forEach((p, i) => {
    const offset = BigInt(i * PAGE_SIZE);
    parts.push(
      i === 0 ? Buffer.concat([be64(offset | 0x08n), str('pc.ram')]) : be64(offset | 0x08n | 0x20n),
      p,
    );
  });
  parts.push(be64(0x10n), Buffer.from([0x7e]), be32(ram));
  parts.push(Buffer.from([0x03]), be32(ram), be64(0x10n), Buffer.from([0x7e]), be32(ram));
  parts.push(
    Buffer.from([0x04]),
    be32(3),
    str('timer'),
    be32(0),
    be32(2),
    Buffer.from([0x7e]),
    be32(3),
    Buffer.from([0x00]),
  );
  return Buffer.concat(parts);
}

export const be16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
export const nbdOption = (type: number, data: Buffer) =>
  Buffer.concat([Buffer.from('IHAVEOPT'), be32(type), be32(data.length), data]);
export const nbdRequest = (type: number, offset: number, length: number, data?: Buffer) =>
  Buffer.concat([
    be32(0x25609513),
    be16(0),
    be16(type),
    be64(7n),
    be64(BigInt(offset)),
    be32(length),
    data ?? Buffer.alloc(0),
  ]);
/** Distinct content for every 4 KiB block of the disk, so a block that comes out is known by its bytes. */
export const diskBytes = (offset: number, length: number) => {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = ((offset + i) * 7 + Math.floor((offset + i) / PAGE_SIZE)) & 0xff;
  return b;
};
export const nbdWrite = (offset: number, length: number) =>
  nbdRequest(1, offset, length, diskBytes(offset, length));

/** A mirror's client stream as QEMU's NBD client sends it: flags, NBD_OPT_GO, then requests. */
export function nbdClientStream(): { stream: Buffer; blocks: number[] } {
  const stream = Buffer.concat([
    be32(1), // NBD_FLAG_C_FIXED_NEWSTYLE
    nbdOption(8, Buffer.alloc(0)), // NBD_OPT_STRUCTURED_REPLY
    nbdOption(7, Buffer.concat([be32(3), Buffer.from('vda'), be16(0)])), // NBD_OPT_GO "vda"
    nbdWrite(0, 64 << 10), // 16 aligned blocks
    nbdRequest(0, 0, 4096), // a read: no data from the client
    nbdWrite(1000, 10_000), // [1000, 11000): only the block at 4096 is whole
    nbdWrite(20 << 20, 100), // shorter than a block
    nbdRequest(6, 1 << 20, 1 << 20), // write zeroes: no data
    nbdWrite(8192, 4096),
    nbdRequest(3, 0, 0), // flush
    nbdRequest(2, 0, 0), // disconnect
  ]);
  const blocks = [...Array.from({ length: 16 }, (_, i) => i * PAGE_SIZE), 4096, 8192];
  return { stream, blocks };
}
