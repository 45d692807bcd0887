import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GRAPH_VIEW_MAX, HEATMAP_MAX, reportData } from '../../src/report/report-data.js';
import { syntheticGraph, syntheticPlan } from './synthetic-graph.js';

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

  it('groups VMs a plan moves apart, so the planned placement of the groups is exact', async () => {
    const graph = syntheticGraph(GRAPH_VIEW_MAX + 100);
    const plan = await syntheticPlan(graph);
    const data = reportData(graph, plan, 't');
    const planned = data.graph.planned as string[];
    const cloud = new Map(graph.nodes.map((n) => [n.id, n.cloud as string]));
    const after = (id: string) => plan.placement[id] ?? (cloud.get(id) as string);
    const moved = graph.nodes.filter((n) => after(n.id) !== n.cloud).length;
    assert.ok(moved > 0 && moved < graph.nodes.length, `${moved} moved`);
    assert.equal(
      data.graph.nodes.reduce((s, n, i) => s + (planned[i] === n.cloud ? 0 : n.members), 0),
      moved,
    );
    // The bytes that cross clouds after the plan, counted on the groups, are those counted VM by VM.
    const crossAfter = graph.edges
      .filter((e) => after(e.source) !== after(e.target))
      .reduce((s, e) => s + e.bytes, 0);
    assert.equal(
      data.graph.edges.filter(([s, t]) => planned[s] !== planned[t]).reduce((s, e) => s + e[2], 0),
      crossAfter,
    );
    for (const [i, n] of data.graph.nodes.entries())
      if (planned[i] !== n.cloud) assert.ok(n.id.startsWith(`${n.cloud} → ${planned[i]} · community`), n.id);
    assert.equal(reportData(graph, null, 't').graph.planned, null);
  });

  it('times the cross-cloud rate per window, leaves the internet and inside traffic out, and marks the busiest stretch', () => {
    const series = (bytes: number[]) => ({
      series: bytes.map((b, i) => [1000 + 10 * i, b, 1] as [number, number, number]),
      peakBytesPerSecond: 0,
      p95BytesPerSecond: 0,
    });
    const graph = {
      schema: 'sky-plan/graph@1' as const,
      nodes: [
        { id: 'a1', kind: 'vm' as const, cloud: 'a' },
        { id: 'a2', kind: 'vm' as const, cloud: 'a' },
        { id: 'b1', kind: 'vm' as const, cloud: 'b' },
        { id: 'x', kind: 'external' as const },
      ],
      edges: [
        { source: 'a1', target: 'b1', bytes: 330, packets: 5, windows: series([10, 10, 100, 80, 10, 30]) },
        { source: 'b1', target: 'a2', bytes: 60, packets: 5, windows: series([0, 0, 0, 20, 40, 0]) },
        {
          source: 'a1',
          target: 'a2',
          bytes: 6000,
          packets: 5,
          windows: series([1000, 1000, 1000, 1000, 1000, 1000]),
        },
        {
          source: 'a1',
          target: 'x',
          bytes: 6000,
          packets: 5,
          windows: series([1000, 1000, 1000, 1000, 1000, 1000]),
        },
      ],
      window: { seconds: 10, first: 1000, count: 6 },
      timeRange: { first: 1000, seconds: 60 },
    };
    const t = reportData(graph as never, null, 't').crossCloudTimeline;
    assert.deepEqual(t?.rates, [1, 1, 10, 10, 5, 3]);
    // The peak (window 2) and its neighbours at half its rate or more: windows 2 to 4.
    assert.deepEqual(t?.busiest, [2, 4]);
  });
});
