import type { Level, Partitioning } from './level.js';

const EPS = 1e-12;

/** Loads per cloud (c * 3 + r) of an assignment. */
export function loads(level: Level, part: Partitioning, where: Int32Array): Float64Array {
  const used = new Float64Array(part.k * 3);
  for (let v = 0; v < level.n; v++) addLoad(level, used, v, where[v] as number, 1);
  return used;
}

function addLoad(level: Level, used: Float64Array, v: number, c: number, sign: number): void {
  used[c * 3] = (used[c * 3] as number) + sign * (level.vcpus[v] as number);
  used[c * 3 + 1] = (used[c * 3 + 1] as number) + sign * (level.memoryGiB[v] as number);
  used[c * 3 + 2] = (used[c * 3 + 2] as number) + sign * (level.count[v] as number);
}

export function fits(level: Level, part: Partitioning, used: Float64Array, v: number, c: number): boolean {
  const cap = part.capacity;
  return (
    (used[c * 3] as number) + (level.vcpus[v] as number) <= (cap[c * 3] as number) + 1e-9 &&
    (used[c * 3 + 1] as number) + (level.memoryGiB[v] as number) <= (cap[c * 3 + 1] as number) + 1e-9 &&
    (used[c * 3 + 2] as number) + (level.count[v] as number) <= (cap[c * 3 + 2] as number) + 1e-9
  );
}

/** Cost of vertex v in each cloud given its neighbours' clouds: unary + traffic priced both ways. */
export function costs(
  level: Level,
  part: Partitioning,
  where: Int32Array,
  v: number,
  into: Float64Array,
): void {
  const { k, egress: E, perGB } = part;
  for (let c = 0; c < k; c++) into[c] = level.unary[v * k + c] as number;
  for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
    const cw = where[level.adjncy[i] as number] as number;
    if (cw < 0) continue;
    const out = (level.out[i] as number) * perGB;
    const inn = (level.in[i] as number) * perGB;
    for (let c = 0; c < k; c++)
      into[c] = (into[c] as number) + out * (E[c * k + cw] as number) + inn * (E[cw * k + c] as number);
  }
}

/**
 * Greedy k-way refinement (METIS's greedy refinement, with the real cost instead of the cut): passes move
 * each vertex to the cloud where it costs least, when capacity, residency and anti-affinity allow.
 */
export function refine(
  level: Level,
  part: Partitioning,
  where: Int32Array,
  used: Float64Array,
  passes = 8,
): void {
  const { k } = part;
  const cost = new Float64Array(k);
  const anti = antiIndex(level);
  // Only a vertex on a cloud boundary, or not in its cheapest cloud, can gain at first; after a pass,
  // only those whose neighbourhood changed.
  let active = new Uint8Array(level.n);
  for (let v = 0; v < level.n; v++) active[v] = mayGain(level, where, v) ? 1 : 0;
  for (let pass = 0; pass < passes; pass++) {
    let moved = 0;
    const next = new Uint8Array(level.n);
    for (let v = 0; v < level.n; v++) {
      if (active[v] === 0) continue;
      const a = where[v] as number;
      costs(level, part, where, v, cost);
      let best = a;
      let bestCost = (cost[a] as number) - EPS * Math.abs(cost[a] as number) - EPS;
      let level0 = -1; // a zero-gain move to a lighter cloud, as METIS makes to even out loads
      for (let c = 0; c < k; c++) {
        if (c === a || !level.allowed[v * k + c]) continue;
        const cc = cost[c] as number;
        if (cc > (cost[a] as number) + EPS * Math.abs(cost[a] as number) + EPS) continue;
        if (!fits(level, part, used, v, c) || !antiAllows(level, anti, where, v, c)) continue;
        if (cc < bestCost) {
          best = c;
          bestCost = cc;
        } else if ((used[c * 3 + 2] as number) + (level.count[v] as number) < (used[a * 3 + 2] as number)) {
          if (level0 < 0 || (used[c * 3 + 2] as number) < (used[level0 * 3 + 2] as number)) level0 = c;
        }
      }
      if (best === a && level0 >= 0) best = level0;
      if (best !== a) {
        addLoad(level, used, v, a, -1);
        addLoad(level, used, v, best, 1);
        where[v] = best;
        moved++;
        next[v] = 1;
        for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++)
          next[level.adjncy[i] as number] = 1;
      }
    }
    if (moved === 0) break;
    active = next;
  }
}

/** Anti-affinity group → the vertices holding it, for the (rare) vertices that have any. */
export function antiIndex(level: Level): Map<number, number[]> {
  const index = new Map<number, number[]>();
  for (const [v, groups] of level.anti) for (const g of groups) index.set(g, [...(index.get(g) ?? []), v]);
  return index;
}

export function antiAllows(
  level: Level,
  index: Map<number, number[]>,
  where: Int32Array,
  v: number,
  c: number,
): boolean {
  const groups = level.anti.get(v);
  if (groups === undefined) return true;
  for (const g of groups) for (const w of index.get(g) ?? []) if (w !== v && where[w] === c) return false;
  return true;
}

export function levelCost(level: Level, part: Partitioning, where: Int32Array): number {
  const { k, egress: E, perGB } = part;
  let total = 0;
  for (let v = 0; v < level.n; v++) {
    const a = where[v] as number;
    total += level.unary[v * k + a] as number;
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
      const b = where[level.adjncy[i] as number] as number;
      total += (level.out[i] as number) * perGB * (E[a * k + b] as number);
    }
  }
  return total;
}

/**
 * Restores capacities after projection or a forced initial assignment: vertices leave over-full clouds
 * for clouds with room, cheapest cost increase first. Returns false if some cloud is still over-full.
 */
export function rebalance(level: Level, part: Partitioning, where: Int32Array, used: Float64Array): boolean {
  const { k } = part;
  const cap = part.capacity;
  const over = (c: number) =>
    (used[c * 3] as number) > (cap[c * 3] as number) + 1e-9 ||
    (used[c * 3 + 1] as number) > (cap[c * 3 + 1] as number) + 1e-9 ||
    (used[c * 3 + 2] as number) > (cap[c * 3 + 2] as number) + 1e-9;
  const anti = antiIndex(level);
  const cost = new Float64Array(k);
  for (let round = 0; round < 4; round++) {
    if (!Array.from({ length: k }, (_, c) => over(c)).some(Boolean)) return true;
    const candidates: [number, number, number][] = [];
    for (let v = 0; v < level.n; v++) {
      const a = where[v] as number;
      if (!over(a)) continue;
      costs(level, part, where, v, cost);
      let best = -1;
      for (let c = 0; c < k; c++) {
        if (c === a || over(c) || !level.allowed[v * k + c] || !fits(level, part, used, v, c)) continue;
        if (best < 0 || (cost[c] as number) < (cost[best] as number)) best = c;
      }
      if (best >= 0) candidates.push([v, best, (cost[best] as number) - (cost[a] as number)]);
    }
    candidates.sort((x, y) => x[2] - y[2]);
    for (const [v, c] of candidates) {
      const a = where[v] as number;
      if (!over(a) || !fits(level, part, used, v, c) || !antiAllows(level, anti, where, v, c)) continue;
      addLoad(level, used, v, a, -1);
      addLoad(level, used, v, c, 1);
      where[v] = c;
    }
  }
  return !Array.from({ length: k }, (_, c) => over(c)).some(Boolean);
}

/** Whether v could gain by moving: it has a neighbour elsewhere, or a cheaper allowed cloud by itself. */
function mayGain(level: Level, where: Int32Array, v: number): boolean {
  const a = where[v] as number;
  for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++)
    if (where[level.adjncy[i] as number] !== a) return true;
  const k = level.k;
  const here = level.unary[v * k + a] as number;
  for (let c = 0; c < k; c++)
    if (c !== a && level.allowed[v * k + c] && (level.unary[v * k + c] as number) < here) return true;
  return false;
}
