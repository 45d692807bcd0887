import type { Analysis } from '../analyze.js';
import { compareNames } from '../text-format.js';
import { VERSION } from '../version.js';
import { communities } from './communities.js';
import { GRAPH_SCHEMA, type GraphDocument, type GraphEdge, type GraphNode } from './graph-model.js';
import { classifyPatterns } from './patterns.js';
import { type CloudMove, summarize } from './summarize.js';
import { windowRates } from './window-stats.js';

/** The analysis as graph@1 node and edge records (edges heaviest first). */
function records(analysis: Analysis): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const { traffic } = analysis;
  const nodes = traffic.nodes.map((n) => {
    const node: GraphNode = { id: n.id, kind: n.kind };
    if (n.cloud !== undefined) node.cloud = n.cloud;
    if (n.host !== undefined) node.host = n.host;
    if (n.vcpus !== undefined) node.vcpus = n.vcpus;
    if (n.memoryGiB !== undefined) node.memoryGiB = n.memoryGiB;
    return Object.assign(node, {
      sentBytes: n.sentBytes,
      sentPackets: n.sentPackets,
      receivedBytes: n.receivedBytes,
      receivedPackets: n.receivedPackets,
      broadcastBytes: n.broadcastBytes,
      broadcastPackets: n.broadcastPackets,
      multicastBytes: n.multicastBytes,
      multicastPackets: n.multicastPackets,
    });
  });
  const range = timeRange(analysis);
  const windows = windowRange(analysis);
  const w = analysis.windowSeconds;
  // Heaviest first; ties in name order, so the document does not depend on capture order. Names are
  // ranked once, so a million edges compare as numbers.
  const rank = new Int32Array(traffic.nodes.length);
  traffic.nodes
    .map((n, i) => [n.id, i] as const)
    .sort((a, b) => compareNames(a[0], b[0]))
    .forEach(([, i], r) => {
      rank[i] = r;
    });
  const at = (i: number) => rank[i] as number;
  const sorted = [...traffic.edges.values()].sort(
    (a, b) => b.bytes - a.bytes || at(a.source) - at(b.source) || at(a.target) - at(b.target),
  );
  const edges: GraphEdge[] = [];
  for (const e of sorted) {
    const source = (traffic.nodes[e.source] as { id: string }).id;
    const target = (traffic.nodes[e.target] as { id: string }).id;
    const edge: GraphEdge = { source, target, bytes: e.bytes, packets: e.packets, flows: e.flows };
    if (range !== null && range.seconds > 0) edge.bytesPerSecond = e.bytes / range.seconds;
    if (e.series !== undefined && w !== undefined && windows !== null) {
      const series = [...e.series.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([i, [bytes, packets]]): [number, number, number] => [i * w, bytes, packets]);
      edge.windows = { series, ...windowRates(e.series, w, windows.count) };
    }
    edges.push(edge);
  }
  return { nodes, edges };
}

/** The graph@1 document of an analysis: nodes, edges, summary, communities and their patterns. */
export function graphDocument(analysis: Analysis): GraphDocument {
  const { nodes, edges } = records(analysis);
  const range = timeRange(analysis);
  const windows = windowRange(analysis);
  const window =
    windows === null || analysis.windowSeconds === undefined
      ? null
      : {
          seconds: analysis.windowSeconds,
          first: windows.first * analysis.windowSeconds,
          count: windows.count,
        };
  return {
    schema: GRAPH_SCHEMA,
    generator: { name: 'sky-plan', version: VERSION },
    timeRange: range,
    window,
    byteCount: analysis.byteCount,
    nodes,
    edges,
    summary: summarize(
      nodes,
      edges,
      analysis.inventory?.clouds ?? [],
      range?.seconds ?? 0,
      cloudMoves(analysis, nodes),
    ),
    patterns: classifyPatterns({ nodes, edges }, communities({ nodes, edges }), window),
    tunnels: analysis.tunnels,
    mobility: analysis.mobility,
    captures: analysis.captures,
    dedup: { packets: analysis.traffic.duplicatePackets, bytes: analysis.traffic.duplicateBytes },
    flowTable: analysis.flowTable,
    warnings: analysis.warnings,
  };
}

function timeRange(analysis: Analysis): GraphDocument['timeRange'] {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const c of analysis.captures) {
    if (c.stats.firstTime !== null) first = Math.min(first, c.stats.firstTime);
    if (c.stats.lastTime !== null) last = Math.max(last, c.stats.lastTime);
  }
  return first <= last ? { first, last, seconds: last - first } : null;
}

function windowRange(analysis: Analysis): { first: number; count: number } | null {
  if (analysis.windowSeconds === undefined) return null;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const e of analysis.traffic.edges.values()) {
    for (const i of e.series?.keys() ?? []) {
      if (i < lo) lo = i;
      if (i > hi) hi = i;
    }
  }
  return lo <= hi ? { first: lo, count: hi - lo + 1 } : null;
}

/**
 * VMs that announced themselves (RARP) or started sending behind a hypervisor of another cloud than the
 * inventory gives them: from that time on their traffic counts there. The node records the move.
 */
function cloudMoves(analysis: Analysis, nodes: GraphNode[]): Map<string, CloudMove> {
  const hostCloud = new Map(
    (analysis.inventory?.hosts ?? []).flatMap((h) =>
      h.cloud === undefined ? [] : [[h.name, h.cloud] as const],
    ),
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const moves = new Map<string, CloudMove>();
  for (const e of analysis.mobility) {
    if (e.vm === null || e.host === null || e.kind === 'garp') continue;
    const node = byId.get(e.vm);
    const cloud = hostCloud.get(e.host);
    if (node?.cloud === undefined || cloud === undefined || cloud === node.cloud) continue;
    if (moves.has(e.vm)) continue; // the first sign of the move dates it
    moves.set(e.vm, { time: e.time, cloud });
    node.moved = { time: e.time, from: node.cloud, to: cloud };
  }
  return moves;
}
