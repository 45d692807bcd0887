import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRAPH_VIEW_MAX, HEATMAP_MAX, reportData } from '../../src/report/report-data.js';
import { syntheticGraph } from './synthetic-graph.js';

describe('report data', () => {
  it('draws every node below the thresholds, and is the same on every run', () => {
    const graph = syntheticGraph(200);
    const data = reportData(graph, null, 't');
    assert.equal(data.graph.grouped, false);
    assert.equal(data.graph.nodes.length, 200);
    assert.equal(data.heatmap.cells.length, graph.edges.length);
    assert.deepEqual(reportData(graph, null, 't'), data);
  });

  it('groups by community within cloud beyond the thresholds, keeping every byte', () => {
    const graph = syntheticGraph(GRAPH_VIEW_MAX + 100);
    const data = reportData(graph, null, 't');
    assert.equal(data.graph.grouped, true);
    assert.equal(data.heatmap.grouped, true);
    assert.ok(data.graph.nodes.length < graph.nodes.length / 5, `${data.graph.nodes.length} groups`);
    assert.ok(data.heatmap.labels.length < graph.nodes.length / 5 && graph.nodes.length > HEATMAP_MAX);
    assert.equal(
      data.graph.nodes.reduce((s, n) => s + n.members, 0),
      graph.nodes.length,
    );
    const bytes = graph.edges.reduce((s, e) => s + e.bytes, 0);
    assert.equal(
      data.graph.edges.reduce((s, e) => s + e[2], 0),
      bytes,
    );
    assert.equal(
      data.heatmap.cells.reduce((s, c) => s + c[2], 0),
      bytes,
    );
    // A group never mixes clouds.
    for (const n of data.graph.nodes) assert.ok(n.id.startsWith(`${n.cloud} · community`), n.id);
  });
});
