import { UserError } from '../errors.js';
import type { GraphView } from '../graph/graph-view.js';
import { nodeCloud } from '../graph/summarize.js';
import { csvCell } from './edges-csv.js';

/** Past this many nodes the dense matrix is hundreds of MB of zeros: the edge list says the same. */
export const MATRIX_MAX_NODES = 5000;

/**
 * The node × node byte matrix (row: sender, column: receiver), nodes ordered by cloud then name, for
 * spreadsheets and numpy (`np.loadtxt(..., delimiter=",", skiprows=1, usecols=range(2, n + 2))`).
 */
export function matrixCsv(graph: GraphView): string {
  if (graph.nodes.length > MATRIX_MAX_NODES) {
    throw new UserError(
      'matrix_too_large',
      `matrix-csv: ${graph.nodes.length} nodes make a ${graph.nodes.length}² matrix; above ${MATRIX_MAX_NODES} nodes use --format csv (the edge list)`,
    );
  }
  const nodes = [...graph.nodes].sort(
    (a, b) => nodeCloud(a).localeCompare(nodeCloud(b)) || a.id.localeCompare(b.id),
  );
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const n = nodes.length;
  const bytes = new Float64Array(n * n);
  for (const e of graph.edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s !== undefined && t !== undefined) bytes[s * n + t] = (bytes[s * n + t] as number) + e.bytes;
  }
  const rows = [['source', 'cloud', ...nodes.map((node) => node.id)].map(csvCell).join(',')];
  for (let s = 0; s < n; s++) {
    const node = nodes[s] as (typeof nodes)[number];
    const cells = [csvCell(node.id), csvCell(nodeCloud(node))];
    for (let t = 0; t < n; t++) cells.push(String(bytes[s * n + t]));
    rows.push(cells.join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
