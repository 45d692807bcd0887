import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  BottomK,
  type ContentSketch,
  containment,
  measuredSimilarity,
  SKETCH_SCHEMA,
} from '../../src/plan/content-sketch.js';
import { fingerprintFile } from '../../src/plan/fingerprint.js';
import { tempDir } from '../helpers.js';

const h = (i: number) => createHash('sha256').update(String(i)).digest('hex').slice(0, 16);

function sketchOf(ids: number[], k = 1024): ContentSketch {
  const b = new BottomK(k);
  for (const i of ids) b.add(h(i));
  return {
    schema: SKETCH_SCHEMA,
    name: 'x',
    source: 'test',
    pages: ids.length,
    zeroPages: 0,
    k,
    hashes: b.result(),
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('content sketches', () => {
  it('keep the k smallest distinct hashes, in order', () => {
    const b = new BottomK(3);
    for (const v of ['e', 'a', 'c', 'a', 'b', 'd']) b.add(v);
    assert.deepEqual(b.result(), ['a', 'b', 'c']);
  });

  it('estimate the shared share of content within a few percent', () => {
    // 20,000 pages each, 10,000 in common: each holds half of its content in common with the other.
    const a = sketchOf(range(0, 20_000));
    const b = sketchOf(range(10_000, 30_000));
    assert.ok(Math.abs(containment(a, [b]) - 0.5) < 0.06, `${containment(a, [b])}`);
    assert.equal(containment(a, [a]), 1);
    assert.equal(containment(a, [sketchOf(range(50_000, 60_000))]), 0);
    // Three VMs of one image, each with 80% common content and 20% of its own.
    const vms = [0, 1, 2].map((v) =>
      sketchOf([...range(0, 8000), ...range(100_000 * (v + 1), 100_000 * (v + 1) + 2000)]),
    );
    assert.ok(Math.abs(measuredSimilarity(vms) - 0.8) < 0.06, `${measuredSimilarity(vms)}`);
  });

  it('fingerprint a file page by page, zero pages counted apart, duplicates once', async () => {
    const page = (fill: number) => Buffer.alloc(4096, fill);
    const path = join(tempDir(), 'disk.img');
    writeFileSync(path, Buffer.concat([page(0), page(1), page(1), page(2), page(0), Buffer.alloc(100, 3)]));
    const sketch = await fingerprintFile(path, 'disk', path);
    assert.equal(sketch.pages, 6);
    assert.equal(sketch.zeroPages, 2);
    assert.equal(sketch.hashes.length, 3, 'pages 1, 2 and the padded tail');
  });
});
