import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { FIXTURE_SIZE } from '../fixtures/synth/cluster-scenario.js';
import { writeCluster } from '../fixtures/synth/write-cluster.js';
import { analyzeCaptures } from '../src/analyze.js';
import { graphDocument } from '../src/graph/graph-document.js';
import { loadInventory } from '../src/inventory/load-inventory.js';
import { fixture, ROOT, tempDir } from './helpers.js';

/**
 * Golden tests: each fixture through the whole pipeline, compared with the committed graph JSON.
 * After an intended change, regenerate with `UPDATE_GOLDEN=1 npm test` and review the diff.
 */
const update = process.env.UPDATE_GOLDEN === '1';

async function golden(
  name: string,
  captures: string[],
  options: { inventory?: string; window?: number } = {},
) {
  const inventory = options.inventory === undefined ? undefined : await loadInventory(options.inventory);
  const analysis = await analyzeCaptures(
    captures.map((path) => ({ path: relative(ROOT, path) })),
    { inventory, windowSeconds: options.window },
  );
  const doc = graphDocument(analysis);
  const actual = JSON.parse(JSON.stringify({ ...doc, generator: { name: 'sky-plan', version: '(any)' } }));
  const path = fixture('golden', `${name}.json`);
  if (update) writeFileSync(path, `${JSON.stringify(actual, null, 1)}\n`);
  assert.deepEqual(actual, JSON.parse(readFileSync(path, 'utf8')));
}

describe('golden graphs', () => {
  for (const file of readdirSync(fixture('captures')).filter((f) => /\.pcap(ng)?$/.test(f))) {
    it(file, () => golden(file.replace(/\.pcap(ng)?$/, ''), [fixture('captures', file)]));
  }
  it('cluster (inventory, 10 s windows)', () =>
    golden('cluster', [fixture('cluster', 'cluster.pcap.gz')], {
      inventory: fixture('cluster', 'inventory.yaml'),
      window: 10,
    }));
});

describe('the committed cluster fixture', () => {
  it('is what the generator writes', () => {
    const dir = tempDir();
    writeCluster(dir, FIXTURE_SIZE);
    assert.ok(
      readFileSync(join(dir, 'cluster.pcap')).equals(
        gunzipSync(readFileSync(fixture('cluster', 'cluster.pcap.gz'))),
      ),
    );
    assert.equal(
      readFileSync(join(dir, 'inventory.yaml'), 'utf8'),
      readFileSync(fixture('cluster', 'inventory.yaml'), 'utf8'),
    );
  });
});
