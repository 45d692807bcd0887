import { UndirectedGraph } from 'graphology';
import louvainModule from 'graphology-communities-louvain';
import { seededRng } from '../../planner/rng.js';
import type { GraphView } from './graph-view.js';

// CommonJS typed as an ES default export: under Node (and esbuild) the default import is module.exports.
const louvain = louvainModule as unknown as typeof louvainModule.default;

export interface Communities {
  /** Community of each node, numbered by decreasing size (0 is the largest). */
  of: Map<string, number>;
  count: number;
  modularity: number;
}

/**
 * Louvain communities of the traffic graph, both directions summed, weighted by bytes. Seeded, so the
 * same graph always gives the same communities.
 */
export function communities(graph: GraphView, seed = 1): Communities {
  const g = new UndirectedGraph();
  const ids = graph.nodes.map((node) => node.id);
  const index = new Map(ids.map((id, i) => [id, i]));
  for (const id of ids) g.addNode(id);
  // Both directions summed first, keyed by node numbers: one edge insertion per pair (graphology's
  // update-or-add per directed edge costs a lookup and a closure each, on graphs of a million edges).
  const n = index.size;
  const weight = new Map<number, number>();
  for (const e of graph.edges) {
    if (e.source === e.target || e.bytes <= 0) continue;
    const [a, b] = [index.get(e.source) as number, index.get(e.target) as number];
    const key = Math.min(a, b) * n + Math.max(a, b);
    weight.set(key, (weight.get(key) ?? 0) + e.bytes);
  }
  for (const [key, w] of weight)
    g.addEdgeWithKey(key, ids[Math.floor(key / n)] as string, ids[key % n] as string, { weight: w });
  const detailed = louvain.detailed(g, { getEdgeWeight: 'weight', rng: seededRng(seed) });
  const external = new Set(graph.nodes.filter((n) => n.kind === 'external').map((n) => n.id));
  const merged = mergeCoupled(g, detailed.communities, external);
  const sizes = new Map<number, number>();
  for (const c of Object.values(merged)) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const rank = new Map(
    [...sizes].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([c], i) => [c, i] as const),
  );
  const of = new Map(Object.entries(merged).map(([id, c]) => [id, rank.get(c) as number] as const));
  return { of, count: sizes.size, modularity: g.size === 0 ? 0 : detailed.modularity };
}

/**
 * Louvain splits rings and grids, whose every cut is as heavy as what it keeps: communities joined by a
 * link (not through an external peer) at least half as heavy as their mean inner link are one
 * application, and are merged.
 */
function mergeCoupled(
  g: UndirectedGraph,
  communities: Record<string, number>,
  external: Set<string>,
): Record<string, number> {
  const inner = new Map<number, { sum: number; n: number }>();
  g.forEachEdge((_, a, s, t) => {
    const c = communities[s] as number;
    if (c !== communities[t]) return;
    const x = inner.get(c) ?? { sum: 0, n: 0 };
    x.sum += a.weight as number;
    x.n++;
    inner.set(c, x);
  });
  const mean = (c: number) => {
    const x = inner.get(c);
    return x === undefined ? 0 : x.sum / x.n;
  };
  const parent = new Map<number, number>();
  const find = (c: number): number => {
    let r = c;
    while (parent.has(r)) r = parent.get(r) as number;
    return r;
  };
  g.forEachEdge((_, a, s, t) => {
    // The internet couples nothing: two applications serving it are not one.
    if (external.has(s) || external.has(t)) return;
    const [cs, ct] = [find(communities[s] as number), find(communities[t] as number)];
    if (cs === ct) return;
    if ((a.weight as number) >= 0.5 * Math.min(mean(cs), mean(ct))) parent.set(cs, ct);
  });
  return Object.fromEntries(Object.entries(communities).map(([v, c]) => [v, find(c)]));
}
