import type { Communities } from './communities.js';
import type { GraphView } from './graph-view.js';
import { type MembershipChange, membershipChanges } from './membership.js';
import { PairTable } from './pair-table.js';
import { segmentPhases, type WindowShape } from './phases.js';

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
  /** Bytes between members. */
  bytes: number;
  /** Bytes between members and external peers (a client-server community's may be all of it). */
  externalBytes: number;
  /** The best-scoring pattern, or "unclassified" when none scores at least 0.5. */
  pattern: PatternName | 'unclassified';
  confidence: number;
  scores: Record<PatternName, number>;
  /** Members with light traffic to many others (launchers, monitoring): left out of the classification. */
  control: string[];
  /**
   * With windows: consecutive intervals of one pattern and volume level (phases.ts states the rule),
   * each named like the community (its pattern, from its traffic in that interval alone).
   */
  phases: Phase[];
}

export interface Phase {
  start: number;
  end: number;
  bytes: number;
  pattern: PatternName | 'unclassified';
  confidence: number;
}

export interface PatternReport {
  modularity: number;
  communities: CommunityPattern[];
  /** With windows: VMs whose traffic moved from one community (by id) to another, and when. */
  membership: MembershipChange[];
}

type Window = { first: number; seconds: number } | null | undefined;
type Edge = GraphView['edges'][number];

/**
 * Names what each Louvain community does, from its traffic alone: the shape of its graph (degrees,
 * cycles, bipartition, a hub, density), the direction of its bytes, and its traffic to external peers.
 * Every pattern gets a score in [0, 1]; the best one names the community.
 */
export function classifyPatterns(graph: GraphView, found: Communities, window?: Window): PatternReport {
  const kind = new Map(graph.nodes.map((n) => [n.id, n.kind]));
  const groups = new Map<number, { members: string[]; own: Edge[]; external: number; outside: Edge[] }>();
  const group = (c: number) => {
    const g = groups.get(c) ?? { members: [], own: [], external: 0, outside: [] };
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
    else if (from !== undefined && !fromExternal && toExternal) {
      group(from).external += e.bytes;
      group(from).outside.push(e);
    } else if (to !== undefined && !toExternal && fromExternal) {
      group(to).external += e.bytes;
      group(to).outside.push(e);
    }
  }
  const communities: CommunityPattern[] = [];
  for (const [id, { members, own, external, outside }] of [...groups].sort((a, b) => a[0] - b[0])) {
    const community = classify(id, members.sort(), own, external);
    if (window !== null && window !== undefined)
      community.phases = phases(id, own, outside, window.seconds, community);
    // One or two members say nothing about a shape, unless they mostly serve external peers.
    if (members.length >= 3 || community.pattern === 'client-server') communities.push(community);
  }
  const membership =
    window === null || window === undefined ? [] : membershipChanges(graph, found, window.seconds);
  return { modularity: found.modularity, communities, membership };
}

/**
 * `own`: the edges between members; `external`: bytes between members and external peers. Members are
 * numbered (their index in `members`) and pairs keyed by number: communities can have a million edges.
 */
function classify(id: number, members: string[], own: Edge[], external: number): CommunityPattern {
  const n = members.length;
  const index = new Map(members.map((m, i) => [m, i]));
  const internal = own.reduce((s, e) => s + e.bytes, 0);
  // Undirected weights (key lo * n + hi), and bytes per direction (key from * n + to).
  const pair = new PairTable(own.length);
  const directed = new PairTable(own.length);
  for (const e of own) {
    const a = index.get(e.source) as number;
    const b = index.get(e.target) as number;
    pair.add(Math.min(a, b) * n + Math.max(a, b), e.bytes);
    directed.add(a * n + b, e.bytes);
  }
  const strength = new Float64Array(n);
  const degree = new Int32Array(n);
  pair.forEach((key, w) => {
    for (const v of [Math.floor(key / n), key % n]) {
      strength[v] = (strength[v] as number) + w;
      degree[v] = (degree[v] as number) + 1;
    }
  });
  // Control plane: light traffic (a tenth of the mean) with at least half of the others.
  const mean = (2 * internal) / n;
  const isControl = (v: number) =>
    (strength[v] as number) < 0.1 * mean && (degree[v] as number) >= (n - 1) / 2 && n > 3;
  const core = members.flatMap((_, v) => (isControl(v) ? [] : [v]));
  const inCore = new Uint8Array(n);
  for (const v of core) inCore[v] = 1;
  const corePairs: Link[] = [];
  pair.forEach((key, w) => {
    const [a, b] = [Math.floor(key / n), key % n];
    if (inCore[a] && inCore[b]) corePairs.push([a, b, w]);
  });
  // Edges that matter: at least 1% of the heaviest pair (keeps keep-alives from blurring the shape).
  const heaviest = corePairs.reduce((top, [, , w]) => Math.max(top, w), 0);
  const links = corePairs.filter(([, , w]) => w >= 0.01 * heaviest);
  // A member none of whose links matters (a launcher that speaks to one daemon) is control plane too: left
  // in, it would count as a node with no link and make an all-to-all look sparse.
  const linked = new Uint8Array(n);
  for (const [a, b] of links) linked[a] = linked[b] = 1;
  const inShape = (v: number) => inCore[v] === 1 && (links.length === 0 || linked[v] === 1);
  const shaped = core.filter(inShape);
  const control = members.filter((_, v) => !inShape(v));
  const sent = (a: number, b: number) => directed.get(a * n + b);
  const scores = scorePatterns(n, shaped, links, sent, external / Math.max(1, external + internal));
  const [best, score] = (Object.entries(scores) as [PatternName, number][]).sort(
    (a, b) => b[1] - a[1],
  )[0] as [PatternName, number];
  return {
    id,
    members,
    bytes: internal,
    externalBytes: external,
    pattern: score >= 0.5 ? best : 'unclassified',
    confidence: Number(score.toFixed(3)),
    scores: Object.fromEntries(Object.entries(scores).map(([k, v]) => [k, Number(v.toFixed(3))])) as Record<
      PatternName,
      number
    >,
    control,
    phases: [],
  };
}

/** Two members (numbered) and the bytes between them, both ways. */
type Link = [number, number, number];

/** `size`: members numbered below it; `nodes`: those classified; `sent(a, b)`: bytes a sent b. */
function scorePatterns(
  size: number,
  nodes: number[],
  links: Link[],
  sent: (a: number, b: number) => number,
  externalShare: number,
): Record<PatternName, number> {
  const n = nodes.length;
  const adj: Set<number>[] = Array.from({ length: size }, () => new Set<number>());
  for (const [a, b] of links) {
    (adj[a] as Set<number>).add(b);
    (adj[b] as Set<number>).add(a);
  }
  const deg = (v: number) => (adj[v] as Set<number>).size;
  const m = links.length;
  const total = links.reduce((s, l) => s + l[2], 0) || 1;
  const connected = isConnected(nodes, adj);
  const density = n < 2 ? 0 : m / ((n * (n - 1)) / 2);
  // The hub: the node carrying the largest share of the bytes.
  const carried = new Float64Array(size);
  for (const [a, b, w] of links) {
    carried[a] = (carried[a] as number) + w;
    carried[b] = (carried[b] as number) + w;
  }
  const hubShare = nodes.reduce((top, v) => Math.max(top, (carried[v] as number) / total), 0);
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
    gridCandidate && links.every(([a, b]) => ![...(adj[a] as Set<number>)].some((c) => adj[b]?.has(c)));
  const gridDegrees = nodes.filter((v) => deg(v) >= 2 && deg(v) <= 4).length / Math.max(1, n);
  // Direction along a path: how much of each link's bytes flow one way, consistently.
  const oneWay = links.reduce((s, [a, b]) => s + Math.max(sent(a, b), sent(b, a)), 0) / total;
  // One-way flow across a bipartition: 1 when one side only sends to the other (a shuffle), 0.5 when
  // bytes go both ways or around (a ring's halo exchange, or its one-way cycle).
  let flow = 0.5;
  let shuffle = 0;
  if (colouring !== null) {
    const [left, right] = colouring;
    const onLeft = new Set(left);
    const leftOut = links.reduce((s, [a, b]) => s + (onLeft.has(a) ? sent(a, b) : sent(b, a)), 0);
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

function isConnected(nodes: number[], adj: Set<number>[]): boolean {
  if (nodes.length === 0) return false;
  const seen = new Set([nodes[0] as number]);
  const queue = [nodes[0] as number];
  while (queue.length > 0)
    for (const w of adj[queue.pop() as number] ?? []) if (!seen.has(w)) seen.add(w) && queue.push(w);
  return seen.size === nodes.length;
}

/** The two sides of a bipartite graph, or null when it has an odd cycle. */
function twoColour(nodes: number[], adj: Set<number>[]): [number[], number[]] | null {
  const side = new Int8Array(adj.length).fill(-1);
  for (const start of nodes) {
    if (side[start] !== -1) continue;
    side[start] = 0;
    const queue = [start];
    while (queue.length > 0) {
      const v = queue.pop() as number;
      for (const w of adj[v] ?? []) {
        if (side[w] === -1) {
          side[w] = 1 - (side[v] as number);
          queue.push(w);
        } else if (side[w] === side[v]) return null;
      }
    }
  }
  return [nodes.filter((v) => side[v] === 0), nodes.filter((v) => side[v] === 1)];
}

/** Longer series than this (a week of 6 s windows) get no phases: the per-window work would not pay. */
const MAX_PHASE_WINDOWS = 100_000;

/**
 * The community's phases: each window is named by its own traffic, segmentPhases cuts the run of
 * windows, and each phase is named by its traffic as a whole. `outside`: edges to external peers;
 * `whole`: the community named by all its traffic.
 */
function phases(id: number, own: Edge[], outside: Edge[], seconds: number, whole: CommunityPattern): Phase[] {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  // Whether the windows hold every byte (no history dropped by --retain): a phase of all of them, where
  // every member has traffic of its own, is then the community's whole traffic, already named.
  let complete = true;
  for (const edges of [own, outside])
    for (const e of edges) {
      let bytes = 0;
      for (const [start, b] of e.windows?.series ?? []) {
        first = Math.min(first, start);
        last = Math.max(last, start);
        bytes += b;
      }
      if (bytes !== e.bytes) complete = false;
    }
  if (first > last || !(seconds > 0)) return [];
  const count = Math.round((last - first) / seconds) + 1;
  if (count > MAX_PHASE_WINDOWS) return [];
  // Per window: the community's own edges with that window's bytes, and its bytes with external peers.
  const inWindow = Array.from({ length: count }, () => ({ own: [] as Edge[], external: 0 }));
  const at = (start: number) => inWindow[Math.round((start - first) / seconds)] as (typeof inWindow)[number];
  for (const e of own)
    for (const [start, bytes] of e.windows?.series ?? [])
      at(start).own.push({ source: e.source, target: e.target, bytes });
  for (const e of outside) for (const [start, bytes] of e.windows?.series ?? []) at(start).external += bytes;
  const named = (edges: Edge[], external: number) => classify(id, membersOf(edges), edges, external);
  const shapes: WindowShape[] = inWindow.map((w) => {
    const bytes = w.own.reduce((s, e) => s + e.bytes, 0) + w.external;
    return { bytes, pattern: bytes === 0 ? '' : named(w.own, w.external).pattern };
  });
  return segmentPhases(shapes).map(([from, to]) => {
    const span = { start: first + from * seconds, end: first + to * seconds };
    if (complete && from === 0 && to === count && membersOf(own).length === whole.members.length)
      return {
        ...span,
        bytes: whole.bytes + whole.externalBytes,
        pattern: whole.pattern,
        confidence: whole.confidence,
      };
    const sum = new Map<string, Edge>();
    let external = 0;
    for (const w of inWindow.slice(from, to)) {
      external += w.external;
      for (const e of w.own) {
        const key = `${e.source}\n${e.target}`;
        const seen = sum.get(key);
        if (seen === undefined) sum.set(key, { ...e });
        else seen.bytes += e.bytes;
      }
    }
    const c = named([...sum.values()], external);
    return {
      ...span,
      bytes: c.bytes + external,
      pattern: c.pattern,
      confidence: c.confidence,
    };
  });
}

function membersOf(edges: readonly Edge[]): string[] {
  return [...new Set(edges.flatMap((e) => [e.source, e.target]))].sort();
}
