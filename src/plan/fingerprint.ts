import { hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { BottomK, type ContentSketch, SKETCH_K, SKETCH_SCHEMA } from './content-sketch.js';

const PAGE = 4096;
const ZERO = Buffer.alloc(PAGE);

/** Sketches the content of a file (a disk image, or guest memory saved by QEMU's pmemsave), page by page. */
export async function fingerprintFile(
  path: string,
  name: string,
  source: string,
  k = SKETCH_K,
): Promise<ContentSketch> {
  const sketch = new BottomK(k);
  let pages = 0;
  let zeroPages = 0;
  let carry = Buffer.alloc(0);
  const page = (p: Buffer) => {
    pages++;
    if (p.equals(ZERO)) zeroPages++;
    else sketch.add(hash('sha256', p, 'hex').slice(0, 16));
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 4 << 20 })) {
    const data = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
    const whole = data.length - (data.length % PAGE);
    for (let at = 0; at < whole; at += PAGE) page(data.subarray(at, at + PAGE));
    carry = Buffer.from(data.subarray(whole));
  }
  if (carry.length > 0) page(Buffer.concat([carry, Buffer.alloc(PAGE - carry.length)]));
  return { schema: SKETCH_SCHEMA, name, source, pages, zeroPages, k, hashes: sketch.result() };
}
