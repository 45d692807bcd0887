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
  // The most constrained first (pinned, residency), then the largest, so they still find room.
  const order = Array.from({ length: level.n }, (_, v) => v).sort(
    (a, b) =>
      (choices[a] as number) - (choices[b] as number) ||
      (level.vcpus[b] as number) +
        (level.count[b] as number) -
        (level.vcpus[a] as number) -
        (level.count[a] as number) ||
      (jitter[a] as number) - (jitter[b] as number),
  );
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
