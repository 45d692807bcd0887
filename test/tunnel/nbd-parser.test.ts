import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../planner/rng.js';
import { NbdParser } from '../../src/tunnel/nbd-parser.js';
import { PAGE_SIZE } from '../../src/tunnel/precopy-parser.js';
import {
  be32,
  nbdClientStream as clientStream,
  diskBytes,
  nbdRequest as request,
  nbdWrite as write,
} from './synthetic-stream.js';

function parse(stream: Buffer, chunking: (rng: () => number) => number, seed: number) {
  const out: Buffer[] = [];
  const pages: Buffer[] = [];
  const parser = new NbdParser({
    raw: (b) => out.push(Buffer.from(b)),
    page: (header, content) => {
      assert.equal(header.length, 0);
      out.push(Buffer.from(content));
      pages.push(Buffer.from(content));
    },
    zero: () => assert.fail('NBD has no zero pages'),
  });
  const rng = seededRng(seed);
  for (let at = 0; at < stream.length; ) {
    const n = Math.max(1, chunking(rng));
    parser.write(stream.subarray(at, at + n));
    at += n;
  }
  parser.end();
  return { out: Buffer.concat(out), pages, passthrough: parser.passthrough };
}

describe('NBD client stream parser (disk blocks through the dedup tunnel)', () => {
  it('gives back the stream byte for byte, and every whole block of write data aligned on the disk', () => {
    const { stream, blocks } = clientStream();
    const chunkings: [string, (rng: () => number) => number][] = [
      ['whole', () => stream.length],
      ['1 byte', () => 1],
      ['random up to 9000', (rng) => Math.floor(rng() * 9000)],
      ['random up to 70000', (rng) => Math.floor(rng() * 70000)],
    ];
    for (const [name, chunking] of chunkings)
      for (let seed = 1; seed <= 5; seed++) {
        const r = parse(stream, chunking, seed);
        assert.equal(r.passthrough, null, name);
        assert.ok(r.out.equals(stream), `${name}: the stream comes back unchanged`);
        assert.deepEqual(
          r.pages.map((p) => p.toString('hex')),
          blocks.map((offset) => diskBytes(offset, PAGE_SIZE).toString('hex')),
          `${name}, seed ${seed}: the blocks`,
        );
      }
  });

  it('passes everything through from a magic it does not know (extended headers), losing nothing', () => {
    const extended = Buffer.concat([be32(1), be32(0x21e41c71), Buffer.alloc(28), write(0, 8192)]);
    const r = parse(extended, () => 5, 1);
    assert.ok(r.out.equals(extended));
    assert.deepEqual(r.pages, []);
    assert.match(r.passthrough?.reason ?? '', /magic 0x21e41c71/);
    assert.equal(r.passthrough?.offset, 4);
  });

  it('refuses a write longer than NBD allows, and gives the rest back unparsed', () => {
    const huge = Buffer.concat([be32(1), request(1, 0, 64 << 20), Buffer.alloc(4096, 1)]);
    const r = parse(huge, () => 1000, 1);
    assert.ok(r.out.equals(huge));
    assert.match(r.passthrough?.reason ?? '', /a write of 67108864 bytes/);
  });
});
