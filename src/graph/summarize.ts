import type { Cloud } from '../inventory/schema.js';
import { compareNames } from '../text-format.js';
import type { CloudPairTraffic, GraphEdge, GraphNode, GraphSummary } from './graph-model.js';

/**
 * Where a node's traffic is billed from/to: its cloud, "internet" for external peers, "unlocated" for a
 * node of the capture no inventory places (a gateway, a VM left out): kept out of the cloud pairs.
 */
export const INTERNET = 'internet';
export const UNPLACED = 'unlocated';
const GB = 1e9;

/** How traffic between two nodes' clouds counts: one vocabulary for analyze and the report. */
export function trafficClass(from: string, to: string): 'unlocated' | 'internet' | 'cross-cloud' | 'inside' {
  if (from === UNPLACED || to === UNPLACED) return 'unlocated';
  if (from === INTERNET || to === INTERNET) return 'internet';
  return from === to ? 'inside' : 'cross-cloud';
}
const MONTH_SECONDS = 30 * 86400;
const TOP = 10;

export function nodeCloud(
  node: { cloud?: string | undefined; kind?: string | undefined } | undefined,
): string {
  if (node?.cloud !== undefined) return node.cloud;
  return node?.kind === 'external' ? INTERNET : UNPLACED;
}

/** $/GB for traffic leaving `from` towards `to`; undefined when the spec does not price it. */
export function egressPrice(clouds: readonly Cloud[], from: string, to: string): number | undefined {
  if (from === to) return 0;
  const cloud = clouds.find((c) => c.name === from);
  if (cloud === undefined || to === UNPLACED) return undefined;
  if (to === INTERNET) return cloud.egress?.internet ?? 0;
  return cloud.egress?.to?.[to] ?? cloud.egress?.default ?? 0;
}

/** A VM seen moving to another cloud during the capture: its traffic from `time` on counts there. */
export interface CloudMove {
  time: number;
  cloud: string;
}

export function summarize(
  nodes: readonly GraphNode[],
  edges: readonly GraphEdge[],
  clouds: readonly Cloud[],
  seconds: number,
  moves: ReadonlyMap<string, CloudMove> = new Map(),
): GraphSummary {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const pairs = new Map<string, CloudPairTraffic>();
  const nodeBytes = new Map<string, number>();
  let edgeBytes = 0;
  let edgePackets = 0;
  let crossCloudBytes = 0;
  let internetBytes = 0;
  let unlocatedBytes = 0;
  for (const e of edges) {
    edgeBytes += e.bytes;
    edgePackets += e.packets;
    nodeBytes.set(e.source, (nodeBytes.get(e.source) ?? 0) + e.bytes);
    nodeBytes.set(e.target, (nodeBytes.get(e.target) ?? 0) + e.bytes);
    const count = (from: string, to: string, bytes: number, packets: number) => {
      const traffic = trafficClass(from, to);
      if (traffic === 'unlocated') {
        unlocatedBytes += bytes;
        return;
      }
      if (traffic === 'internet') internetBytes += bytes;
      else if (traffic === 'cross-cloud') crossCloudBytes += bytes;
      const key = `${from}\u0000${to}`;
      const pair = pairs.get(key) ?? { from, to, bytes: 0, packets: 0 };
      pair.bytes += bytes;
      pair.packets += packets;
      pairs.set(key, pair);
    };
    const cloudAt = (id: string, time: number) => {
      const move = moves.get(id);
      return move !== undefined && time >= move.time ? move.cloud : nodeCloud(byId.get(id));
    };
    // A moved VM's traffic counts in the cloud it was in at the time, window by window.
    if ((moves.has(e.source) || moves.has(e.target)) && e.windows !== undefined)
      for (const [start, bytes, packets] of e.windows.series)
        count(cloudAt(e.source, start), cloudAt(e.target, start), bytes, packets);
    else count(nodeCloud(byId.get(e.source)), nodeCloud(byId.get(e.target)), e.bytes, e.packets);
  }
  let egressCost: number | undefined;
  for (const pair of pairs.values()) {
    const price = egressPrice(clouds, pair.from, pair.to);
    if (price === undefined || clouds.length === 0) continue;
    pair.egressCost = (pair.bytes / GB) * price;
    if (seconds > 0) pair.egressCostPerMonth = (pair.egressCost / seconds) * MONTH_SECONDS;
    egressCost = (egressCost ?? 0) + pair.egressCost;
  }
  const summary: GraphSummary = {
    nodes: nodes.length,
    edges: edges.length,
    edgeBytes,
    edgePackets,
    broadcastBytes: nodes.reduce((s, n) => s + (n.broadcastBytes ?? 0), 0),
    multicastBytes: nodes.reduce((s, n) => s + (n.multicastBytes ?? 0), 0),
    crossCloudBytes,
    internetBytes,
    unlocatedBytes,
    cloudPairs: [...pairs.values()].sort(
      (a, b) => b.bytes - a.bytes || a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
    ),
    topEdges: top(
      edges,
      (a, b) => b.bytes - a.bytes || compareNames(a.source, b.source) || compareNames(a.target, b.target),
    ).map((e) => ({ source: e.source, target: e.target, bytes: e.bytes })),
    topNodes: top([...nodeBytes.entries()], (a, b) => b[1] - a[1] || compareNames(a[0], b[0])).map(
      ([id, bytes]) => ({ id, bytes }),
    ),
  };
  if (egressCost !== undefined) {
    summary.egressCost = egressCost;
    if (seconds > 0) summary.egressCostPerMonth = (egressCost / seconds) * MONTH_SECONDS;
  }
  return summary;
}

/** The first TOP of `items` in `order`, in one pass: sorting a million edges for ten costs seconds. */
function top<T>(items: readonly T[], order: (a: T, b: T) => number): T[] {
  const kept: T[] = [];
  for (const item of items) {
    if (kept.length === TOP && order(item, kept[TOP - 1] as T) >= 0) continue;
    let i = kept.length === TOP ? TOP - 1 : kept.length;
    while (i > 0 && order(item, kept[i - 1] as T) < 0) {
      kept[i] = kept[i - 1] as T;
      i--;
    }
    kept[i] = item;
  }
  return kept;
}
