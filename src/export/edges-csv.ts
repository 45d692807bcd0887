import type { GraphView } from '../graph/graph-view.js';

/** One row per directed edge (RFC 4180 quoting). */
export function edgesCsv(doc: GraphView): string {
  const cloud = new Map(doc.nodes.map((n) => [n.id, n.cloud ?? '']));
  const rows = [
    ['source', 'target', 'source_cloud', 'target_cloud', 'bytes', 'packets', 'flows', 'bytes_per_second'],
  ];
  for (const e of doc.edges) {
    rows.push([
      e.source,
      e.target,
      cloud.get(e.source) ?? '',
      cloud.get(e.target) ?? '',
      String(e.bytes),
      String(e.packets ?? ''),
      String(e.flows ?? ''),
      e.bytesPerSecond === undefined ? '' : e.bytesPerSecond.toFixed(3),
    ]);
  }
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

export function csvCell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
