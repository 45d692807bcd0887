import { cloudPalette, NO_CLOUD_COLOUR } from '../graph/cloud-palette.js';
import type { GraphView } from '../graph/graph-view.js';
import { nodeCloud } from '../graph/summarize.js';
import { formatBytes } from '../text-format.js';

/** Viridis in nine steps (dark: light traffic, yellow: heavy): legible in grey and to colour-blind readers. */
const RATE_COLOURS = [
  '#440154',
  '#472d7b',
  '#3b528b',
  '#2c728e',
  '#21918c',
  '#28ae80',
  '#5ec962',
  '#addc30',
  '#fde725',
];
/** Edges labelled with their rate: the heaviest only, so labels stay readable and Graphviz can place them. */
const LABELLED_EDGES = 10;

/**
 * Graphviz DOT: one cluster per cloud; edge width and colour grow with the logarithm of the rate (bytes
 * per second, or bytes when the graph has no time range), so both heavy and light links stay visible;
 * the heaviest edges carry their rate as a label. `dot -Tsvg` or `neato -Tsvg` render it.
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
  const perSecond = graph.edges.some((e) => e.bytesPerSecond !== undefined);
  const rate = (e: GraphView['edges'][number]) => (perSecond ? (e.bytesPerSecond ?? 0) : e.bytes);
  const max = graph.edges.reduce((top, e) => Math.max(top, rate(e)), 1);
  const labelled = new Set(
    [...graph.edges]
      .sort((a, b) => rate(b) - rate(a) || (a.source < b.source ? -1 : 1))
      .slice(0, LABELLED_EDGES),
  );
  const unit = perSecond ? '/s' : '';
  out.push(
    `  label=${id(`edge width and colour: ${perSecond ? 'rate' : 'bytes'} (log scale, dark to yellow); labels: the ${LABELLED_EDGES} heaviest`)};`,
    '  labelloc=b; fontsize=10;',
  );
  for (const e of graph.edges) {
    const share = Math.log1p(rate(e)) / Math.log1p(max);
    const width = 0.5 + 5.5 * share;
    const colour = RATE_COLOURS[Math.min(RATE_COLOURS.length - 1, Math.floor(share * RATE_COLOURS.length))];
    const label = labelled.has(e) ? `, label=${id(`${formatBytes(rate(e))}${unit}`)}` : '';
    out.push(
      `  ${id(e.source)} -> ${id(e.target)} [penwidth=${width.toFixed(2)}, color=${id(colour as string)}, weight=${Math.max(1, Math.round(width))}, tooltip=${id(`${e.source} → ${e.target}: ${formatBytes(rate(e))}${unit}`)}${label}];`,
    );
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

/** A DOT quoted ID: only the quote needs escaping (and a backslash, to keep it literal). */
function id(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
