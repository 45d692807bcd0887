import { cloudPalette, INTERNET_COLOUR, NO_CLOUD_COLOUR } from '../graph/cloud-palette.js';
import { communities } from '../graph/communities.js';
import type { GraphDocument } from '../graph/graph-model.js';
import type { GraphView } from '../graph/graph-view.js';
import { classifyPatterns } from '../graph/patterns.js';
import { INTERNET, nodeCloud, trafficClass, UNPLACED } from '../graph/summarize.js';
import { moveReason } from '../plan/move-reason.js';
import type { PlanView } from '../plan/read-plan.js';
import { layout } from './layout.js';

/** Above this many nodes the graph view draws one node per community and cloud. */
export const GRAPH_VIEW_MAX = 1500;
/** Above this many nodes the heatmap has one row per community and cloud. */
export const HEATMAP_MAX = 300;
const TOP_PEERS = 5;

export interface ReportNode {
  id: string;
  cloud: string;
  kind: string;
  community: number;
  /** Nodes it stands for (1 unless grouped). */
  members: number;
  x: number;
  y: number;
  sent: number;
  received: number;
  peers: [string, number][];
}

/** Everything the page shows, computed here so the page only draws. */
export interface ReportData {
  title: string;
  timeRange: { first: number; seconds: number } | null;
  clouds: { name: string; colour: string }[];
  totals: {
    nodes: number;
    edges: number;
    bytes: number;
    crossCloudBytes: number;
    internetBytes: number;
    unlocatedBytes: number;
  };
  communities: { count: number; modularity: number };
  /** What each community does (see analyze's patterns), by community number. */
  patterns: {
    community: number;
    pattern: string;
    confidence: number;
    members: string[];
    control: string[];
    bytes: number;
    externalBytes: number;
    /** Its phases over time (with windows): start and end in seconds since the epoch. */
    phases: { start: number; end: number; pattern: string; bytes: number }[];
  }[];
  /**
   * The graph view: all nodes, or one per (cloud, community) when there are too many; with a plan, a
   * group holds only VMs bound for one cloud, so `planned` (each node's cloud after the plan) is exact.
   */
  graph: {
    grouped: boolean;
    nodes: ReportNode[];
    edges: [number, number, number][];
    planned: string[] | null;
  };
  heatmap: {
    grouped: boolean;
    labels: string[];
    clouds: string[];
    /** Each row's community (for the filters). */
    communities: number[];
    cells: [number, number, number][];
  };
  cloudMatrix: { from: string; to: string; bytes: number; egressCost: number | null }[];
  /**
   * Cross-cloud bytes per second in each window (the internet left out), and the busiest stretch: the
   * windows around the peak at half its rate or more.
   */
  crossCloudTimeline: { first: number; seconds: number; rates: number[]; busiest: [number, number] } | null;
  /** Per-window bytes of each graph-view edge ([window, bytes] pairs), for the time slider. */
  windows: { first: number; seconds: number; count: number; edges: [number, number][][] } | null;
  /** Each move with its reason, the text the CLI prints too. */
  plan:
    | (Omit<PlanView, 'moves'> & {
        moves: (PlanView['moves'][number] & { reason: string })[];
        current: Record<string, string>;
      })
    | null;
}

/** What the report reads of a graph@1 document; a hand-written one may have only nodes and edges. */
export type ReportGraph = GraphView & {
  window?: GraphDocument['window'] | undefined;
  timeRange?: { first?: number | undefined; seconds: number } | null | undefined;
  summary?:
    | { cloudPairs?: { from: string; to: string; egressCost?: number | undefined }[] | undefined }
    | undefined;
};

export function reportData(graph: ReportGraph, plan: PlanView | null, title: string): ReportData {
  const palette = cloudPalette(graph.nodes.flatMap((n) => (n.cloud === undefined ? [] : [n.cloud])));
  const found = communities(graph);
  const cloudOf = new Map(graph.nodes.map((n) => [n.id, nodeCloud(n)]));
  const byCommunity = (n: { id: string }) =>
    `${cloudOf.get(n.id)} · community ${(found.of.get(n.id) ?? 0) + 1}`;
  const plannedOf = (id: string) => plan?.placement[id] ?? (cloudOf.get(id) as string);
  // VMs a plan moves form groups of their own, named for both clouds.
  const groupOf = (n: { id: string }) =>
    plannedOf(n.id) === cloudOf.get(n.id)
      ? byCommunity(n)
      : `${cloudOf.get(n.id)} → ${plannedOf(n.id)} · community ${(found.of.get(n.id) ?? 0) + 1}`;
  const isGrouped = graph.nodes.length > GRAPH_VIEW_MAX;
  const view = isGrouped ? grouped(graph, groupOf, cloudOf) : graph;
  const plannedById = new Map(
    graph.nodes.map((n) => [isGrouped ? groupOf(n) : n.id, plannedOf(n.id)] as [string, string]),
  );
  const positions = layout(view, cloudOf);
  const nodes = reportNodes(view, isGrouped, found.of, cloudOf, positions);
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const edges = view.edges.map(
    (e) =>
      [index.get(e.source) as number, index.get(e.target) as number, e.bytes] as [number, number, number],
  );
  const bytes = graph.edges.reduce((s, e) => s + e.bytes, 0);
  // The vocabulary of analyze: cross-cloud is between two clouds; the internet and unlocated nodes apart.
  let [crossCloudBytes, internetBytes, unlocatedBytes] = [0, 0, 0];
  for (const e of graph.edges) {
    const traffic = trafficClass(cloudOf.get(e.source) ?? UNPLACED, cloudOf.get(e.target) ?? UNPLACED);
    if (traffic === 'unlocated') unlocatedBytes += e.bytes;
    else if (traffic === 'internet') internetBytes += e.bytes;
    else if (traffic === 'cross-cloud') crossCloudBytes += e.bytes;
  }
  return {
    title,
    timeRange:
      graph.timeRange?.first === undefined
        ? null
        : { first: graph.timeRange.first, seconds: graph.timeRange.seconds },
    clouds: [...new Set(cloudOf.values())].sort().map((name) => ({
      name,
      colour: palette.get(name) ?? (name === INTERNET ? INTERNET_COLOUR : NO_CLOUD_COLOUR),
    })),
    totals: {
      nodes: graph.nodes.length,
      edges: graph.edges.length,
      bytes,
      crossCloudBytes,
      internetBytes,
      unlocatedBytes,
    },
    communities: { count: found.count, modularity: found.modularity },
    patterns: classifyPatterns(graph, found, graph.window).communities.map((c) => ({
      community: c.id,
      pattern: c.pattern,
      confidence: c.confidence,
      members: c.members,
      control: c.control,
      bytes: c.bytes,
      externalBytes: c.externalBytes,
      phases: c.phases.map((p) => ({ start: p.start, end: p.end, pattern: p.pattern, bytes: p.bytes })),
    })),
    graph: {
      grouped: isGrouped,
      nodes,
      edges,
      planned: plan === null ? null : nodes.map((n) => plannedById.get(n.id) as string),
    },
    heatmap: heatmap(graph, cloudOf, found.of, byCommunity),
    cloudMatrix: cloudMatrix(graph, cloudOf),
    windows: view === graph ? windows(graph) : null,
    crossCloudTimeline: crossCloudTimeline(graph, cloudOf),
    plan:
      plan === null
        ? null
        : {
            ...plan,
            moves: plan.moves.map((m) => ({ ...m, reason: moveReason(m) })),
            current: Object.fromEntries(
              Object.keys(plan.placement).map((vm) => [vm, cloudOf.get(vm) ?? UNPLACED]),
            ),
          },
  };
}

/** Nodes merged by `key`: one node per key, edges between keys summed (self-loops kept: inner traffic). */
function grouped(
  graph: GraphView,
  key: (n: { id: string }) => string,
  cloudOf: Map<string, string>,
): GraphView & { members: Map<string, number> } {
  const members = new Map<string, number>();
  for (const n of graph.nodes) {
    const k = key(n);
    members.set(k, (members.get(k) ?? 0) + 1);
    cloudOf.set(k, cloudOf.get(n.id) as string);
  }
  const edges = new Map<string, { source: string; target: string; bytes: number }>();
  for (const e of graph.edges) {
    const source = key({ id: e.source });
    const target = key({ id: e.target });
    const id = `${source}\u0000${target}`;
    const edge = edges.get(id) ?? { source, target, bytes: 0 };
    edge.bytes += e.bytes;
    edges.set(id, edge);
  }
  return { nodes: [...members.keys()].map((id) => ({ id })), edges: [...edges.values()], members };
}

function reportNodes(
  view: GraphView & { members?: Map<string, number> },
  isGrouped: boolean,
  community: Map<string, number>,
  cloudOf: Map<string, string>,
  positions: Map<string, { x: number; y: number }>,
): ReportNode[] {
  const sent = new Map<string, number>();
  const received = new Map<string, number>();
  const peers = new Map<string, Map<string, number>>();
  const addPeer = (a: string, b: string, bytes: number) => {
    const m = peers.get(a) ?? new Map<string, number>();
    m.set(b, (m.get(b) ?? 0) + bytes);
    peers.set(a, m);
  };
  for (const e of view.edges) {
    sent.set(e.source, (sent.get(e.source) ?? 0) + e.bytes);
    received.set(e.target, (received.get(e.target) ?? 0) + e.bytes);
    if (e.source === e.target) continue;
    addPeer(e.source, e.target, e.bytes);
    addPeer(e.target, e.source, e.bytes);
  }
  return view.nodes.map((n) => ({
    id: n.id,
    cloud: cloudOf.get(n.id) as string,
    kind: isGrouped ? 'group' : (n.kind ?? 'vm'),
    community: isGrouped ? groupCommunity(n.id) : (community.get(n.id) ?? 0),
    members: view.members?.get(n.id) ?? 1,
    x: positions.get(n.id)?.x ?? 0,
    y: positions.get(n.id)?.y ?? 0,
    sent: sent.get(n.id) ?? 0,
    received: received.get(n.id) ?? 0,
    peers: [...(peers.get(n.id) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, TOP_PEERS),
  }));
}

/** Rows and columns ordered by cloud, then community, then name; only non-zero cells are listed. */
function heatmap(
  graph: GraphView,
  cloudOf: Map<string, string>,
  community: Map<string, number>,
  byCommunity: (n: { id: string }) => string,
): ReportData['heatmap'] {
  const isGrouped = graph.nodes.length > HEATMAP_MAX;
  const rows = isGrouped ? grouped(graph, byCommunity, cloudOf) : graph;
  const rank = (id: string) => community.get(id) ?? Number.parseInt(id.split('community ')[1] ?? '0', 10);
  const labels = rows.nodes
    .map((n) => n.id)
    .sort(
      (a, b) =>
        (cloudOf.get(a) as string).localeCompare(cloudOf.get(b) as string) ||
        rank(a) - rank(b) ||
        a.localeCompare(b),
    );
  const index = new Map(labels.map((id, i) => [id, i]));
  const cells = rows.edges.map(
    (e) =>
      [index.get(e.source) as number, index.get(e.target) as number, e.bytes] as [number, number, number],
  );
  return {
    grouped: isGrouped,
    labels,
    clouds: labels.map((id) => cloudOf.get(id) as string),
    communities: labels.map((id) => community.get(id) ?? groupCommunity(id)),
    cells,
  };
}

/** Bytes per (sender cloud, receiver cloud), with the egress cost analyze priced when it had prices. */
function cloudMatrix(graph: ReportGraph, cloudOf: Map<string, string>): ReportData['cloudMatrix'] {
  const priced = new Map(
    (graph.summary?.cloudPairs ?? []).map((p) => [`${p.from}\u0000${p.to}`, p.egressCost ?? null]),
  );
  const pairs = new Map<string, ReportData['cloudMatrix'][number]>();
  for (const e of graph.edges) {
    const from = cloudOf.get(e.source) as string;
    const to = cloudOf.get(e.target) as string;
    const key = `${from}\u0000${to}`;
    const pair = pairs.get(key) ?? { from, to, bytes: 0, egressCost: priced.get(key) ?? null };
    pair.bytes += e.bytes;
    pairs.set(key, pair);
  }
  return [...pairs.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

function windows(graph: ReportGraph): ReportData['windows'] {
  const w = graph.window;
  if (w === null || w === undefined || !graph.edges.some((e) => e.windows !== undefined)) return null;
  return {
    first: w.first,
    seconds: w.seconds,
    count: w.count,
    edges: graph.edges.map((e) =>
      (e.windows?.series ?? []).map(
        ([start, bytes]) => [Math.round((start - w.first) / w.seconds), bytes] as [number, number],
      ),
    ),
  };
}

/** The community of a group named `<cloud> · community N` (N counts from 1). */
function groupCommunity(id: string): number {
  return Number.parseInt(id.split('community ')[1] ?? '0', 10) - 1;
}

function crossCloudTimeline(
  graph: ReportGraph,
  cloudOf: Map<string, string>,
): ReportData['crossCloudTimeline'] {
  const w = graph.window;
  if (w === null || w === undefined || w.count < 2 || !graph.edges.some((e) => e.windows !== undefined))
    return null;
  const bytes = new Array<number>(w.count).fill(0);
  for (const e of graph.edges) {
    if (trafficClass(cloudOf.get(e.source) ?? UNPLACED, cloudOf.get(e.target) ?? UNPLACED) !== 'cross-cloud')
      continue;
    for (const [start, b] of e.windows?.series ?? []) {
      const i = Math.round((start - w.first) / w.seconds);
      if (i >= 0 && i < w.count) bytes[i] = (bytes[i] as number) + b;
    }
  }
  const rates = bytes.map((b) => b / w.seconds);
  const peak = rates.indexOf(Math.max(...rates));
  const half = (rates[peak] as number) / 2;
  let [from, to] = [peak, peak];
  while (from > 0 && (rates[from - 1] as number) >= half && half > 0) from--;
  while (to < rates.length - 1 && (rates[to + 1] as number) >= half && half > 0) to++;
  return { first: w.first, seconds: w.seconds, rates, busiest: [from, to] };
}
