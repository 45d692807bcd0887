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
