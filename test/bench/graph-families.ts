import { seededRng } from '../../planner/rng.js';

/** An undirected weighted graph as an edge list: vertices 0..n-1, each edge once. */
export interface WeightedGraph {
  n: number;
  edges: [number, number, number][];
}

/**
 * Graph families for `npm run bench:plan`, each about n vertices and 5n edges: their cuts and running
 * times differ (locality, hubs, none), so a partitioner's figures hold only for the families measured.
 */
export const GRAPH_FAMILIES = {
  /** Points in the unit square joined to their nearest neighbours, plus 5% long links across. */
  geometric: (n: number, seed: number) => geometric(n, 9, 0.05, seed),
  /** A √n × √n grid with diagonals (king's moves): the 2-D stencil at scale. */
  mesh: (n: number, seed: number) => mesh(n, seed),
  /** Preferential attachment (Barabási–Albert, 5 edges per new vertex): hubs of high degree. */
  'power-law': (n: number, seed: number) => powerLaw(n, 5, seed),
  /** 100 planted communities, 90% of the edges inside them. */
  communities: (n: number, seed: number) => planted(n, 100, 5, 0.9, seed),
  /** Uniform random edges (Erdős–Rényi): no structure for a partitioner to find. */
  random: (n: number, seed: number) => uniform(n, 5, seed),
} as const;

const weight = (rng: () => number) => 1 + Math.floor(rng() * 10);

class EdgeSet {
  readonly edges: [number, number, number][] = [];
  private readonly seen = new Set<number>();
  constructor(private readonly n: number) {}
  add(u: number, v: number, w: number): void {
    if (u === v) return;
    const key = Math.min(u, v) * this.n + Math.max(u, v);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.edges.push([u, v, w]);
  }
}

function geometric(n: number, degree: number, longShare: number, seed: number): WeightedGraph {
  const rng = seededRng(seed);
  const side = Math.ceil(Math.sqrt(n / 2));
  const cells = new Map<number, number[]>();
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    x[v] = rng();
    y[v] = rng();
    const key = Math.floor((x[v] as number) * side) * side + Math.floor((y[v] as number) * side);
    const cell = cells.get(key);
    if (cell === undefined) cells.set(key, [v]);
    else cell.push(v);
  }
  const set = new EdgeSet(n);
  for (let v = 0; v < n; v++) {
    const cx = Math.floor((x[v] as number) * side);
    const cy = Math.floor((y[v] as number) * side);
    const near: [number, number][] = [];
    for (let dx = -1; dx <= 1; dx++)
      for (let dy = -1; dy <= 1; dy++)
        for (const w of cells.get((cx + dx) * side + cy + dy) ?? [])
          if (w !== v)
            near.push([
              w,
              ((x[w] as number) - (x[v] as number)) ** 2 + ((y[w] as number) - (y[v] as number)) ** 2,
            ]);
    near.sort((a, b) => a[1] - b[1]);
    for (const [w] of near.slice(0, degree)) {
      if (rng() < longShare) set.add(v, Math.floor(rng() * n), weight(rng));
      else set.add(v, w, weight(rng));
    }
  }
  return { n, edges: set.edges };
}

function mesh(n: number, seed: number): WeightedGraph {
  const rng = seededRng(seed);
  const side = Math.round(Math.sqrt(n));
  const set = new EdgeSet(side * side);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const v = r * side + c;
      if (c + 1 < side) set.add(v, v + 1, weight(rng));
      if (r + 1 < side) set.add(v, v + side, weight(rng));
      if (r + 1 < side && c + 1 < side) set.add(v, v + side + 1, weight(rng));
      if (r + 1 < side && c > 0) set.add(v, v + side - 1, weight(rng));
    }
  }
  return { n: side * side, edges: set.edges };
}

function powerLaw(n: number, m: number, seed: number): WeightedGraph {
  const rng = seededRng(seed);
  const set = new EdgeSet(n);
  // Each edge end once in `ends`: a uniform pick from it is a pick proportional to degree.
  const ends = new Int32Array(2 * m * n);
  let count = 0;
  for (let v = 0; v <= m; v++)
    for (let w = 0; w < v; w++) {
      set.add(v, w, weight(rng));
      ends[count++] = v;
      ends[count++] = w;
    }
  for (let v = m + 1; v < n; v++) {
    for (let i = 0; i < m; i++) {
      const w = ends[Math.floor(rng() * count)] as number;
      set.add(v, w, weight(rng));
      ends[count++] = v;
      ends[count++] = w;
    }
  }
  return { n, edges: set.edges };
}

function planted(n: number, groups: number, degree: number, inside: number, seed: number): WeightedGraph {
  const rng = seededRng(seed);
  const size = Math.floor(n / groups);
  const set = new EdgeSet(n);
  // Members of a community are numbered at random, so vertex order gives nothing away.
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  for (let e = 0; e < degree * n; e++) {
    const u = Math.floor(rng() * n);
    const group = Math.min(groups - 1, Math.floor(u / size));
    const v = rng() < inside ? group * size + Math.floor(rng() * size) : Math.floor(rng() * n);
    set.add(order[u] as number, order[Math.min(v, n - 1)] as number, weight(rng));
  }
  return { n, edges: set.edges };
}

function uniform(n: number, degree: number, seed: number): WeightedGraph {
  const rng = seededRng(seed);
  const set = new EdgeSet(n);
  for (let e = 0; e < degree * n; e++) set.add(Math.floor(rng() * n), Math.floor(rng() * n), weight(rng));
  return { n, edges: set.edges };
}

/** METIS graph format: "n m 001" (edge weights), then each vertex's 1-based neighbours and weights. */
export function metisText(g: WeightedGraph): string {
  const adj: number[][] = Array.from({ length: g.n }, () => []);
  for (const [u, v, w] of g.edges) {
    (adj[u] as number[]).push(v + 1, w);
    (adj[v] as number[]).push(u + 1, w);
  }
  return `${g.n} ${g.edges.length} 001\n${adj.map((a) => a.join(' ')).join('\n')}\n`;
}

/** A sky-plan/graph@1 document of the same graph: new VMs (no cloud yet), an edge's bytes its weight. */
export function graphJson(g: WeightedGraph): string {
  const nodes = Array.from({ length: g.n }, (_, v) => ({ id: `v${v}`, kind: 'vm' }));
  const edges = g.edges.map(([u, v, w]) => ({ source: `v${u}`, target: `v${v}`, bytes: w * 1e6 }));
  return JSON.stringify({ schema: 'sky-plan/graph@1', timeRange: { first: 0, seconds: 3600 }, nodes, edges });
}

export function cut(g: WeightedGraph, where: ArrayLike<number>): number {
  let total = 0;
  for (const [u, v, w] of g.edges) if (where[u] !== where[v]) total += w;
  return total;
}
