import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_SIZE } from '../../fixtures/synth/cluster-scenario.js';
import { writeCluster } from '../../fixtures/synth/write-cluster.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { graphDocument } from '../../src/graph/graph-document.js';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import { tempDir } from '../helpers.js';

describe('one graph from several hypervisors', () => {
  it('counts a packet seen on both hypervisors once: per-host captures give the single-capture graph', async () => {
    const single = writeCluster(tempDir(), FIXTURE_SIZE);
    const perHost = writeCluster(tempDir(), FIXTURE_SIZE, { perHost: true });
    assert.ok(perHost.frames > single.frames, 'cross-host packets appear in two captures');
    const inventory = await loadInventory(single.inventoryPath);
    const edgesOf = async (captures: { path: string; host?: string }[]) => {
      const analysis = await analyzeCaptures(captures, { inventory, windowSeconds: 5 });
      const doc = graphDocument(analysis);
      const edges = doc.edges.map((e) => [e.source, e.target, e.bytes, e.packets, e.windows?.series]);
      return { doc, edges: edges.sort((x, y) => `${x[0]}>${x[1]}`.localeCompare(`${y[0]}>${y[1]}`)) };
    };
    const a = await edgesOf(single.captures);
    const b = await edgesOf(perHost.captures);
    assert.deepEqual(b.edges, a.edges);
    assert.equal(b.doc.dedup.packets, perHost.frames - single.frames);

    // Without host labels nothing can be deduplicated: cross-host traffic counts twice.
    const unlabelled = await edgesOf(perHost.captures.map((c) => ({ path: c.path })));
    const total = (edges: unknown[][]) => edges.reduce((s, e) => s + (e[2] as number), 0);
    assert.ok(total(unlabelled.edges) > total(a.edges));
  });
});
