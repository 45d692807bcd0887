import { UndirectedGraph } from 'graphology';
import louvainModule from 'graphology-communities-louvain';
import { seededRng } from '../../planner/rng.js';
import type { ExportGraph } from '../export/export-graph.js';

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
export function communities(graph: ExportGraph, seed = 1): Communities {
  const g = new UndirectedGraph();
  for (const n of graph.nodes) g.addNode(n.id);
  for (const e of graph.edges) {
    if (e.source === e.target || e.bytes <= 0) continue;
    g.updateEdge(e.source, e.target, (a) => ({ weight: ((a.weight as number | undefined) ?? 0) + e.bytes }));
  }
  const detailed = louvain.detailed(g, { getEdgeWeight: 'weight', rng: seededRng(seed) });
  const sizes = new Map<number, number>();
  for (const c of Object.values(detailed.communities)) sizes.set(c, (sizes.get(c) ?? 0) + 1);
  const rank = new Map(
    [...sizes].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([c], i) => [c, i] as const),
  );
  const of = new Map(
    Object.entries(detailed.communities).map(([id, c]) => [id, rank.get(c) as number] as const),
  );
  return { of, count: detailed.count, modularity: g.size === 0 ? 0 : detailed.modularity };
}
