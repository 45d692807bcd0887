import type { Level } from './level.js';

/**
 * Heavy-edge matching (METIS's HEM): visit vertices in random order, match each with the unmatched
 * neighbour it exchanges the most traffic with, if the pair may share a cloud, is not split by an
 * anti-affinity group and stays under `maxWeight` (so balance stays reachable). Returns the coarse level.
 */
export function coarsen(level: Level, rng: () => number, maxWeight: Float64Array): Level {
  const { n } = level;
  const match = new Int32Array(n).fill(-1);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = order[i] as number;
    order[i] = order[j] as number;
    order[j] = t;
  }
  for (const v of order) {
    if ((match[v] as number) >= 0) continue;
    let best = -1;
    let bestWeight = -1;
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
      const w = level.adjncy[i] as number;
      if (w === v || (match[w] as number) >= 0) continue;
      const weight = (level.out[i] as number) + (level.in[i] as number);
      if (weight <= bestWeight || !compatible(level, v, w, maxWeight)) continue;
      best = w;
      bestWeight = weight;
    }
    match[v] = best >= 0 ? best : v;
    if (best >= 0) match[best] = v;
  }
  const fineToCoarse = new Int32Array(n).fill(-1);
  let cn = 0;
  for (let v = 0; v < n; v++) {
    if ((fineToCoarse[v] as number) >= 0) continue;
    fineToCoarse[v] = cn;
    fineToCoarse[match[v] as number] = cn;
    cn++;
  }
  return contract(level, fineToCoarse, cn);
}

function compatible(level: Level, v: number, w: number, maxWeight: Float64Array): boolean {
  const k = level.k;
  if ((level.vcpus[v] as number) + (level.vcpus[w] as number) > (maxWeight[0] as number)) return false;
  if ((level.memoryGiB[v] as number) + (level.memoryGiB[w] as number) > (maxWeight[1] as number))
    return false;
  if ((level.count[v] as number) + (level.count[w] as number) > (maxWeight[2] as number)) return false;
  let shared = false;
  for (let c = 0; c < k; c++) if (level.allowed[v * k + c] && level.allowed[w * k + c]) shared = true;
  if (!shared) return false;
  const a = level.anti.get(v);
  const b = level.anti.get(w);
  if (a !== undefined && b !== undefined) for (const g of a) if (b.includes(g)) return false;
  return true;
}

/** Builds the coarse graph: merged weights, intersected allowed clouds, summed unary costs and edges. */
export function contract(level: Level, fineToCoarse: Int32Array, cn: number): Level {
  const { n, k } = level;
  // Members of each coarse vertex in compressed form (a counting sort), not arrays of arrays.
  const memberStart = new Int32Array(cn + 1);
  for (let v = 0; v < n; v++)
    memberStart[(fineToCoarse[v] as number) + 1] =
      (memberStart[(fineToCoarse[v] as number) + 1] as number) + 1;
  for (let u = 0; u < cn; u++)
    memberStart[u + 1] = (memberStart[u + 1] as number) + (memberStart[u] as number);
  const fill = memberStart.slice(0, cn);
  const members = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    const u = fineToCoarse[v] as number;
    members[fill[u] as number] = v;
    fill[u] = (fill[u] as number) + 1;
  }
  const c: Level = {
    n: cn,
    k,
    xadj: new Int32Array(cn + 1),
    adjncy: new Int32Array(0),
    out: new Float64Array(0),
    in: new Float64Array(0),
    vcpus: new Float64Array(cn),
    memoryGiB: new Float64Array(cn),
    count: new Float64Array(cn),
    allowed: new Uint8Array(cn * k).fill(1),
    unary: new Float64Array(cn * k),
    anti: new Map(),
    fineToCoarse,
  };
  // The coarse graph has at most as many entries as the fine one.
  const capacity = level.adjncy.length;
  const adj = new Int32Array(capacity);
  const outW = new Float64Array(capacity);
  const inW = new Float64Array(capacity);
  let size = 0;
  const slot = new Int32Array(cn).fill(-1);
  for (let u = 0; u < cn; u++) {
    const start = size;
    for (let m = memberStart[u] as number; m < (memberStart[u + 1] as number); m++) {
      const v = members[m] as number;
      c.vcpus[u] = (c.vcpus[u] as number) + (level.vcpus[v] as number);
      c.memoryGiB[u] = (c.memoryGiB[u] as number) + (level.memoryGiB[v] as number);
      c.count[u] = (c.count[u] as number) + (level.count[v] as number);
      for (let x = 0; x < k; x++) {
        if (!level.allowed[v * k + x]) c.allowed[u * k + x] = 0;
        c.unary[u * k + x] = (c.unary[u * k + x] as number) + (level.unary[v * k + x] as number);
      }
      const anti = level.anti.get(v);
      if (anti !== undefined) c.anti.set(u, [...(c.anti.get(u) ?? []), ...anti]);
      for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
        const w = fineToCoarse[level.adjncy[i] as number] as number;
        if (w === u) continue;
        const at = slot[w] as number;
        if (at >= start) {
          outW[at] = (outW[at] as number) + (level.out[i] as number);
          inW[at] = (inW[at] as number) + (level.in[i] as number);
        } else {
          slot[w] = size;
          adj[size] = w;
          outW[size] = level.out[i] as number;
          inW[size] = level.in[i] as number;
          size++;
        }
      }
    }
    c.xadj[u + 1] = size;
  }
  c.adjncy = adj.slice(0, size);
  c.out = outW.slice(0, size);
  c.in = inW.slice(0, size);
  return c;
}
