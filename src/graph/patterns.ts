import type { ExportGraph } from '../export/export-graph.js';
import type { Communities } from './communities.js';

export const PATTERNS = [
  'all-to-all',
  'master-worker',
  'ring',
  'stencil-2d',
  'pipeline',
  'shuffle',
  'client-server',
] as const;
export type PatternName = (typeof PATTERNS)[number];

export interface CommunityPattern {
  id: number;
  members: string[];
  bytes: number;
  /** The best-scoring pattern, or "unclassified" when none scores at least 0.5. */
  pattern: PatternName | 'unclassified';
  confidence: number;
  scores: Record<PatternName, number>;
  /** Members with light traffic to many others (launchers, monitoring): left out of the classification. */
  control: string[];
  /** Bursts over time, from the capture windows: runs of windows above half the busiest one. */
  phases: { start: number; end: number; bytes: number }[];
}

export interface PatternReport {
  modularity: number;
  communities: CommunityPattern[];
}

type Window = { first: number; seconds: number } | null | undefined;
type Edge = ExportGraph['edges'][number];

/**
 * Names what each Louvain community does, from its traffic alone: the shape of its graph (degrees,
 * cycles, bipartition, a hub, density), the direction of its bytes, and its traffic to external peers.
 * Every pattern gets a score in [0, 1]; the best one names the community.
 */
export function classifyPatterns(graph: ExportGraph, found: Communities, window?: Window): PatternReport {
  const kind = new Map(graph.nodes.map((n) => [n.id, n.kind]));
  const groups = new Map<number, { members: string[]; own: Edge[]; external: number }>();
  const group = (c: number) => {
    const g = groups.get(c) ?? { members: [], own: [], external: 0 };
    groups.set(c, g);
    return g;
  };
  for (const [id, c] of found.of) if (kind.get(id) !== 'external') group(c).members.push(id);
  // Each edge goes to its community once (a pass per community would be quadratic on large graphs).
  for (const e of graph.edges) {
    if (e.source === e.target) continue;
    const [from, to] = [found.of.get(e.source), found.of.get(e.target)];
    const [fromExternal, toExternal] = [kind.get(e.source) === 'external', kind.get(e.target) === 'external'];
    if (from !== undefined && from === to && !fromExternal && !toExternal) group(from).own.push(e);
    else if (from !== undefined && !fromExternal && toExternal) group(from).external += e.bytes;
    else if (to !== undefined && !toExternal && fromExternal) group(to).external += e.bytes;
  }
  const communities: CommunityPattern[] = [];
  for (const [id, { members, own, external }] of [...groups].sort((a, b) => a[0] - b[0])) {
    const community = classify(id, members.sort(), own, external, window);
    // One or two members say nothing about a shape, unless they mostly serve external peers.
    if (members.length >= 3 || community.pattern === 'client-server') communities.push(community);
  }
  return { modularity: found.modularity, communities };
}

/** `own`: the edges between members; `external`: bytes between members and external peers. */
function classify(
  id: number,
  members: string[],
  own: Edge[],
  external: number,
  window: Window,
): CommunityPattern {
  const internal = own.reduce((s, e) => s + e.bytes, 0);
  // Undirected weights, and bytes per direction.
  const pair = new Map<string, number>();
  const directed = new Map<string, number>();
  for (const e of own) {
    const key = e.source < e.target ? `${e.source}\u0000${e.target}` : `${e.target}\u0000${e.source}`;
    pair.set(key, (pair.get(key) ?? 0) + e.bytes);
    directed.set(
      `${e.source}\u0000${e.target}`,
      (directed.get(`${e.source}\u0000${e.target}`) ?? 0) + e.bytes,
    );
  }
  const strength = new Map<string, number>();
  const degree = new Map<string, number>();
  for (const [key, w] of pair) {
    for (const v of key.split('\u0000')) {
      strength.set(v, (strength.get(v) ?? 0) + w);
      degree.set(v, (degree.get(v) ?? 0) + 1);
    }
  }
  // Control plane: light traffic (a tenth of the mean) with at least half of the others.
  const mean = (2 * internal) / members.length;
  const control = members.filter(
    (v) =>
      (strength.get(v) ?? 0) < 0.1 * mean &&
      (degree.get(v) ?? 0) >= (members.length - 1) / 2 &&
      members.length > 3,
  );
  const controlSet = new Set(control);
  const core = members.filter((v) => !controlSet.has(v));
  const coreSet = new Set(core);
  const corePairs = [...pair]
    .map(([k, w]) => [...(k.split('\u0000') as [string, string]), w] as const)
    .filter(([a, b]) => coreSet.has(a) && coreSet.has(b));
  // Edges that matter: at least 1% of the heaviest pair (keeps keep-alives from blurring the shape).
  const heaviest = corePairs.reduce((top, [, , w]) => Math.max(top, w), 0);
  const links = corePairs.filter(([, , w]) => w >= 0.01 * heaviest);
  const scores = scorePatterns(core, links, directed, external / Math.max(1, external + internal));
  const [best, score] = (Object.entries(scores) as [PatternName, number][]).sort(
    (a, b) => b[1] - a[1],
  )[0] as [PatternName, number];
  return {
    id,
    members,
    bytes: internal,
    pattern: score >= 0.5 ? best : 'unclassified',
    confidence: Number(score.toFixed(3)),
    scores: Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, Number(v.toFixed(3))])) as Record<
      PatternName,
      number
    >,
    control,
    phases: phases(own, window),
  };
}

function scorePatterns(
  nodes: string[],
  links: (readonly [string, string, number])[],
  directed: Map<string, number>,
  externalShare: number,
): Record<PatternName, number> {
  const n = nodes.length;
  const adj = new Map(nodes.map((v) => [v, new Set<string>()]));
  for (const [a, b] of links) {
    adj.get(a)?.add(b);
    adj.get(b)?.add(a);
  }
  const deg = (v: string) => adj.get(v)?.size ?? 0;
  const m = links.length;
  const total = links.reduce((s, l) => s + l[2], 0) || 1;
  const connected = isConnected(nodes, adj);
  const density = n < 2 ? 0 : m / ((n * (n - 1)) / 2);
  // The hub: the node carrying the largest share of the bytes.
  const carried = new Map<string, number>();
  for (const [a, b, w] of links) {
    carried.set(a, (carried.get(a) ?? 0) + w);
    carried.set(b, (carried.get(b) ?? 0) + w);
  }
  const hubShare = nodes.reduce((top, v) => Math.max(top, (carried.get(v) ?? 0) / total), 0);
  const allDegree2 = nodes.every((v) => deg(v) === 2);
  const ends = nodes.filter((v) => deg(v) === 1).length;
  const path = connected && m === n - 1 && ends === 2 && nodes.every((v) => deg(v) <= 2);
  const colouring = twoColour(nodes, adj);
  // Grid: triangle-free, degrees 2-4, and as many links as some r × c grid (r, c >= 2) has. The triangle
  // check, the costly one on large communities, runs only for a candidate grid.
  const gridEdges = new Set<number>();
  for (let r = 2; r * r <= n; r++) if (n % r === 0) gridEdges.add(2 * n - r - n / r);
  const gridCandidate = n >= 4 && connected && !allDegree2 && gridEdges.has(m);
  const triangleFree =
    gridCandidate && links.every(([a, b]) => ![...(adj.get(a) ?? [])].some((c) => adj.get(b)?.has(c)));
  const gridDegrees = nodes.filter((v) => deg(v) >= 2 && deg(v) <= 4).length / Math.max(1, n);
  // Direction along a path: how much of each link's bytes flow one way, consistently.
  const oneWay =
    links.reduce(
      (s, [a, b]) => s + Math.max(directed.get(`${a}\u0000${b}`) ?? 0, directed.get(`${b}\u0000${a}`) ?? 0),
      0,
    ) / total;
  // One-way flow across a bipartition: 1 when one side only sends to the other (a shuffle), 0.5 when
  // bytes go both ways or around (a ring's halo exchange, or its one-way cycle).
  let flow = 0.5;
  let shuffle = 0;
  if (colouring !== null) {
    const [left, right] = colouring;
    const onLeft = new Set(left);
    const leftOut = links.reduce(
      (s, [a, b]) =>
        s + (onLeft.has(a) ? (directed.get(`${a}\u0000${b}`) ?? 0) : (directed.get(`${b}\u0000${a}`) ?? 0)),
      0,
    );
    flow = Math.max(leftOut, total - leftOut) / total;
    if (left.length >= 2 && right.length >= 2) shuffle = (m / (left.length * right.length)) * flow;
  }
  // When most of its bytes go to external peers, the community's inner shape explains little.
  const inner = externalShare >= 0.5 ? 1 - externalShare : 1;
  return {
    'all-to-all': inner * (n >= 3 ? density ** 2 : 0),
    'master-worker':
      inner * (n >= 3 ? Math.max(0, (hubShare - 0.5) / 0.5) * (m === n - 1 || density < 0.7 ? 1 : 0.5) : 0),
    // A cycle whose bytes all cross one way between alternate members is a 2 × 2 shuffle, not a ring.
    ring: inner * (n >= 3 && connected && allDegree2 && m === n ? 1 - 2 * (flow - 0.5) : 0),
    'stencil-2d': inner * (gridCandidate && triangleFree ? gridDegrees : 0),
    pipeline: inner * (path && n >= 3 ? oneWay : 0),
    shuffle: inner * shuffle,
    'client-server': externalShare,
  };
}

function isConnected(nodes: string[], adj: Map<string, Set<string>>): boolean {
  if (nodes.length === 0) return false;
  const seen = new Set([nodes[0] as string]);
  const queue = [nodes[0] as string];
  while (queue.length > 0)
    for (const w of adj.get(queue.pop() as string) ?? []) if (!seen.has(w)) seen.add(w) && queue.push(w);
  return seen.size === nodes.length;
}

/** The two sides of a bipartite graph, or null when it has an odd cycle. */
function twoColour(nodes: string[], adj: Map<string, Set<string>>): [string[], string[]] | null {
  const side = new Map<string, number>();
  for (const start of nodes) {
    if (side.has(start)) continue;
    side.set(start, 0);
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.pop() as string;
      for (const w of adj.get(v) ?? []) {
        if (!side.has(w)) {
          side.set(w, 1 - (side.get(v) as number));
          queue.push(w);
        } else if (side.get(w) === side.get(v)) return null;
      }
    }
  }
  return [nodes.filter((v) => side.get(v) === 0), nodes.filter((v) => side.get(v) === 1)];
}

/** Runs of windows with more than half the busiest window's bytes. */
function phases(own: Edge[], window: Window): CommunityPattern['phases'] {
  if (window === null || window === undefined) return [];
  const perWindow = new Map<number, number>();
  for (const e of own)
    for (const [start, bytes] of e.windows?.series ?? [])
      perWindow.set(start, (perWindow.get(start) ?? 0) + bytes);
  let peak = 0;
  for (const bytes of perWindow.values()) peak = Math.max(peak, bytes);
  const busy = [...perWindow].filter(([, b]) => b > 0.5 * peak).sort((a, b) => a[0] - b[0]);
  const out: CommunityPattern['phases'] = [];
  for (const [start, bytes] of busy) {
    const last = out.at(-1);
    if (last !== undefined && Math.abs(start - last.end) < 1e-6) {
      last.end = start + window.seconds;
      last.bytes += bytes;
    } else out.push({ start, end: start + window.seconds, bytes });
  }
  return out;
}
