import { cloudPalette, NO_CLOUD_COLOUR } from '../graph/cloud-palette.js';
import type { GraphView } from '../graph/graph-view.js';
import { nodeCloud } from '../graph/summarize.js';
import { formatBytes } from '../text-format.js';

/**
 * Graphviz DOT: one cluster per cloud, edge width growing with the logarithm of the bytes, so both
 * heavy and light links stay visible. `dot -Tsvg` or `neato -Tsvg` render it.
 */
export function dot(graph: GraphView): string {
  const palette = cloudPalette(graph.nodes.flatMap((n) => (n.cloud === undefined ? [] : [n.cloud])));
  const byCloud = new Map<string, string[]>();
  for (const n of graph.nodes) {
    const cloud = nodeCloud(n);
    const colour = (n.cloud === undefined ? undefined : palette.get(n.cloud)) ?? NO_CLOUD_COLOUR;
    const line = `    ${id(n.id)} [fillcolor=${id(`${colour}66`)}, color=${id(colour)}, tooltip=${id(`${n.id} (${cloud})`)}];`;
    byCloud.set(cloud, [...(byCloud.get(cloud) ?? []), line]);
  }
  const out = [
    'digraph "sky-plan" {',
    '  graph [fontname="Helvetica", overlap=false, splines=true];',
    '  node [shape=ellipse, style=filled, fontname="Helvetica"];',
    '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.6];',
  ];
  for (const [cloud, lines] of [...byCloud].sort(([a], [b]) => a.localeCompare(b))) {
    out.push(`  subgraph ${id(`cluster_${cloud}`)} {`, `    label=${id(cloud)};`, ...lines, '  }');
  }
  const max = graph.edges.reduce((top, e) => Math.max(top, e.bytes), 1);
  for (const e of graph.edges) {
    const width = 0.5 + (5.5 * Math.log1p(e.bytes)) / Math.log1p(max);
    out.push(
      `  ${id(e.source)} -> ${id(e.target)} [penwidth=${width.toFixed(2)}, weight=${Math.max(1, Math.round(width))}, label=${id(formatBytes(e.bytes))}];`,
    );
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** A DOT quoted ID: only the quote needs escaping (and a backslash, to keep it literal). */
function id(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
