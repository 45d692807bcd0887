import { UndirectedGraph } from 'graphology';
import forceAtlas2Module from 'graphology-layout-forceatlas2';
import { seededRng } from '../../planner/rng.js';
import type { GraphView } from '../graph/graph-view.js';
import { UNPLACED } from '../graph/summarize.js';

// CommonJS typed as an ES default export: under Node (and esbuild) the default import is module.exports.
const forceAtlas2 = forceAtlas2Module as unknown as typeof forceAtlas2Module.default;

/**
 * Node positions by ForceAtlas2, computed once when the report is written so the page only draws. Nodes
 * start around their cloud's point on a circle, so clouds come out as regions; edge weights are
 * log-scaled so one heavy pair does not collapse the picture. Seeded: the same graph, the same picture.
 */
export function layout(
  graph: GraphView,
  cloudOf: Map<string, string>,
): Map<string, { x: number; y: number }> {
  const rng = seededRng(1);
  const clouds = [...new Set(graph.nodes.map((n) => cloudOf.get(n.id) ?? UNPLACED))].sort();
  const g = new UndirectedGraph({ allowSelfLoops: false });
  for (const n of graph.nodes) {
    const i = clouds.indexOf(cloudOf.get(n.id) ?? UNPLACED);
    const angle = (2 * Math.PI * i) / clouds.length;
    g.addNode(n.id, {
      x: 100 * Math.cos(angle) + 20 * (rng() - 0.5),
      y: 100 * Math.sin(angle) + 20 * (rng() - 0.5),
    });
  }
  for (const e of graph.edges) {
    if (e.source === e.target || e.bytes <= 0) continue;
    g.updateEdge(e.source, e.target, (a) => ({
      weight: ((a.weight as number | undefined) ?? 0) + Math.log10(1 + e.bytes),
    }));
  }
  const iterations = g.order <= 300 ? 300 : g.order <= 1500 ? 150 : 60;
  const settings = { ...forceAtlas2.inferSettings(g), barnesHutOptimize: g.order > 500 };
  const positions = forceAtlas2(g, { iterations, settings, getEdgeWeight: 'weight' });
  return new Map(Object.entries(positions));
}
