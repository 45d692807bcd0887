import type { Level, Partitioning } from './level.js';
import { antiAllows, antiIndex, costs, fits, loads } from './refine.js';

/**
 * Initial assignment of the coarsest level: most constrained and largest vertices first (ties in random
 * order), each to
 * the cheapest cloud that still has room given those already placed (or, when none has, the least loaded:
 * finer levels rebalance). Returns null when residency or anti-affinity leave a vertex no cloud at all.
 */
export function initialAssignment(
  level: Level,
  part: Partitioning,
  rng: () => number,
  noise = 0,
): Int32Array | null {
  const { k } = part;
  const where = new Int32Array(level.n).fill(-1);
  const used = loads(level, part, new Int32Array(0)); // all zero
  const anti = antiIndex(level);
  const jitter = Float64Array.from({ length: level.n }, () => rng());
  const choices = Int32Array.from({ length: level.n }, (_, v) => {
    let n = 0;
    for (let c = 0; c < k; c++) n += level.allowed[v * k + c] as number;
    return n;
  });
  // The most constrained first (pinned, residency), largest first among them; then the rest in
  // breadth-first order from a random start, so each cloud fills with a connected region (graph growing)
  // instead of scattered vertices.
  const constrained = Array.from({ length: level.n }, (_, v) => v)
    .filter((v) => (choices[v] as number) < k)
    .sort(
      (a, b) =>
        (choices[a] as number) - (choices[b] as number) ||
        (level.vcpus[b] as number) - (level.vcpus[a] as number) ||
        (jitter[a] as number) - (jitter[b] as number),
    );
  const order = [...constrained, ...breadthFirst(level, rng, (v) => (choices[v] as number) === k)];
  const cost = new Float64Array(k);
  for (const v of order) {
    costs(level, part, where, v, cost);
    // Later trials perturb the costs a little, so restarts explore different packings.
    if (noise > 0)
      for (let c = 0; c < k; c++) cost[c] = (cost[c] as number) * (1 + noise * rng()) + noise * rng() * 1e-9;
    let best = -1;
    for (let c = 0; c < k; c++) {
      if (
        !level.allowed[v * k + c] ||
        !fits(level, part, used, v, c) ||
        !antiAllows(level, anti, where, v, c)
      )
        continue;
      // Prefer the emptier cloud on ties, so identical clouds fill evenly.
      if (
        best < 0 ||
        (cost[c] as number) < (cost[best] as number) - 1e-12 ||
        ((cost[c] as number) <= (cost[best] as number) + 1e-12 &&
          (used[c * 3 + 2] as number) < (used[best * 3 + 2] as number))
      )
        best = c;
    }
    if (best < 0) {
      // No room anywhere: take the least loaded allowed cloud; refinement and rebalancing restore
      // capacity at finer levels, where vertices are small enough to pack.
      for (let c = 0; c < k; c++) {
        if (!level.allowed[v * k + c] || !antiAllows(level, anti, where, v, c)) continue;
        if (best < 0 || (used[c * 3 + 2] as number) < (used[best * 3 + 2] as number)) best = c;
      }
      if (best < 0) return null;
    }
    where[v] = best;
    used[best * 3] = (used[best * 3] as number) + (level.vcpus[v] as number);
    used[best * 3 + 1] = (used[best * 3 + 1] as number) + (level.memoryGiB[v] as number);
    used[best * 3 + 2] = (used[best * 3 + 2] as number) + (level.count[v] as number);
  }
  return where;
}

/** Vertices (those `include` accepts) in breadth-first order, each component from a random start. */
function breadthFirst(level: Level, rng: () => number, include: (v: number) => boolean): number[] {
  const seen = new Uint8Array(level.n);
  const order: number[] = [];
  const starts = Array.from({ length: level.n }, (_, v) => v).filter(include);
  for (let i = starts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [starts[i], starts[j]] = [starts[j] as number, starts[i] as number];
  }
  for (const s of starts) {
    if (seen[s]) continue;
    seen[s] = 1;
    const queue = [s];
    for (let head = 0; head < queue.length; head++) {
      const v = queue[head] as number;
      order.push(v);
      for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
        const w = level.adjncy[i] as number;
        if (!seen[w] && include(w)) {
          seen[w] = 1;
          queue.push(w);
        }
      }
    }
  }
  return order;
}
