import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PAGE_SIZE, PrecopyParser } from '../../src/tunnel/precopy-parser.js';
import { be32, be64, str } from './synthetic-stream.js';

const page = (fill: number) => Buffer.alloc(PAGE_SIZE, fill);

/** A precopy stream as QEMU 7.2 writes it (see the tunnel issue): RAM sections, then device state. */
function stream(o: { deviceBeforeRamEnd?: boolean; unknownFlag?: boolean } = {}): Buffer {
  const ramId = 2;
  const parts = [
    Buffer.from('QEVM'),
    be32(3),
    Buffer.from([0x07]),
    be32(4),
    Buffer.from('pc-q'),
    // START ram: MEM_SIZE and the block list.
    Buffer.from([0x01]),
    be32(ramId),
    str('ram'),
    be32(0),
    be32(4),
    be64(0x3000n | 0x04n),
    str('pc.ram'),
    be64(0x2000n),
    str('vga.vram'),
    be64(0x1000n),
    be64(0x10n),
    Buffer.from([0x7e]),
    be32(ramId),
    // PART ram: a page with its block name, one continuing it, a zero page.
    Buffer.from([0x02]),
    be32(ramId),
    be64(0x0n | 0x08n),
    str('pc.ram'),
    page(1),
    be64(0x1000n | 0x08n | 0x20n),
    page(2),
    be64(0x0n | 0x02n),
    str('vga.vram'),
    Buffer.from([0]),
    ...(o.unknownFlag ? [be64(0x1000n | 0x800n)] : []),
    be64(0x10n),
    Buffer.from([0x7e]),
    be32(ramId),
  ];
  const device = [
    Buffer.from([0x04]),
    be32(3),
    str('timer'),
    be32(0),
    be32(2),
    Buffer.from('device state...'),
  ];
  if (o.deviceBeforeRamEnd) parts.push(...device);
  parts.push(
    Buffer.from([0x03]),
    be32(ramId),
    be64(0x1000n | 0x08n | 0x20n),
    page(1),
    be64(0x10n),
    Buffer.from([0x7e]),
    be32(ramId),
  );
  if (!o.deviceBeforeRamEnd) parts.push(...device);
  parts.push(Buffer.from([0x00]), Buffer.from([0x06]), be32(2), Buffer.from('{}'));
  return Buffer.concat(parts);
}

function parse(input: Buffer, chunk: number) {
  const out: Buffer[] = [];
  const pages: Buffer[] = [];
  let zeros = 0;
  const parser = new PrecopyParser({
    raw: (b) => out.push(Buffer.from(b)),
    page: (h, c) => {
      out.push(h, c);
      pages.push(c);
    },
    zero: () => zeros++,
  });
  for (let at = 0; at < input.length; at += chunk) parser.write(input.subarray(at, at + chunk));
  parser.end();
  return { output: Buffer.concat(out), pages, zeros, passthrough: parser.passthrough };
}

describe('precopy stream parser', () => {
  it('finds every page and gives back the input byte for byte, whatever the chunking', () => {
    const input = stream();
    for (const chunk of [1, 7, 4096, 5000, input.length]) {
      const r = parse(input, chunk);
      assert.ok(r.output.equals(input), `chunk ${chunk}`);
      assert.deepEqual(
        r.pages.map((p) => p[0]),
        [1, 2, 1],
      );
      assert.equal(r.zeros, 1);
      assert.equal(r.passthrough?.ramEnded, true);
      assert.match(r.passthrough?.reason ?? '', /device state \(timer\) after RAM/);
    }
  });

  it('passes through from a device section that comes before RAM ended, and says so', () => {
    const input = stream({ deviceBeforeRamEnd: true });
    const r = parse(input, 100);
    assert.ok(r.output.equals(input));
    assert.equal(r.pages.length, 2, 'pages after the device section are not parsed');
    assert.equal(r.passthrough?.ramEnded, false);
    assert.match(r.passthrough?.reason ?? '', /before RAM ended/);
    assert.equal(input.subarray(r.passthrough?.offset ?? 0)[0], 0x04, 'the offset points at the section');
  });

  it('passes through from an unknown RAM flag, and from a stream that is not QEMU migration', () => {
    const unknown = stream({ unknownFlag: true });
    const r = parse(unknown, 64);
    assert.ok(r.output.equals(unknown));
    assert.match(r.passthrough?.reason ?? '', /flags 0x800/);
    const junk = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    const j = parse(junk, 3);
    assert.ok(j.output.equals(junk));
    assert.match(j.passthrough?.reason ?? '', /no QEVM magic/);
  });

  it('passes through at once from a record longer than any QEMU writes, instead of holding the stream', () => {
    const head = Buffer.concat([Buffer.from('QEVM'), be32(3), Buffer.from([0x07]), be32(0xffffffff)]);
    const huge = Buffer.concat([head, Buffer.alloc(100_000, 1)]);
    const out: Buffer[] = [];
    const parser = new PrecopyParser({
      raw: (b) => out.push(Buffer.from(b)),
      page: () => undefined,
      zero: () => undefined,
    });
    parser.write(huge);
    // Everything came out before the stream ended: nothing is held waiting for 4 GiB.
    assert.ok(Buffer.concat(out).equals(huge));
    assert.match(parser.passthrough?.reason ?? '', /a record of 4294967295 bytes/);
  });

  it('gives back the bytes of a record the stream was cut inside', () => {
    const cut = Buffer.concat([Buffer.from('QEVM'), be32(3), Buffer.from([0x01]), be32(2)]);
    for (const chunk of [1, 3, cut.length])
      assert.ok(parse(cut, chunk).output.equals(cut), `chunks of ${chunk}`);
  });
});
