import { seededRng } from '../rng.js';
import { coarsen } from './coarsen.js';
import { fmRefine } from './fm-refine.js';
import { initialAssignment } from './initial.js';
import type { Level, Partitioning } from './level.js';
import { levelCost, loads, rebalance, refine } from './refine.js';

export interface MultilevelOptions {
  seed: number;
  /** Independent coarsen → assign → refine runs; the cheapest wins. */
  trials: number;
  /** Stop coarsening at this many vertices (times the number of clouds). */
  coarsestPerCloud: number;
  refinePasses: number;
  /** Relative cost noise in the initial assignment of trials after the first. */
  noise: number;
  /** Initial assignments tried on the coarsest graph per trial. */
  initialTries: number;
  /** Fiduccia-Mattheyses rounds per level. */
  fmRounds: number;
}

export const MULTILEVEL_DEFAULTS: MultilevelOptions = {
  seed: 1,
  trials: 4,
  coarsestPerCloud: 30,
  refinePasses: 8,
  noise: 0.3,
  initialTries: 8,
  fmRounds: 2,
};

/**
 * METIS-style multilevel partitioning with the placement cost as objective: coarsen by heavy-edge
 * matching, assign the coarsest graph greedily under capacities, then project back level by level with
 * greedy k-way refinement. Returns the cloud of each vertex of `finest`, or null when no trial found
 * a feasible assignment.
 */
export function multilevelPartition(
  finest: Level,
  part: Partitioning,
  options: MultilevelOptions = MULTILEVEL_DEFAULTS,
): Int32Array | null {
  const maxWeight = matchLimit(part);
  let best: Int32Array | null = null;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let t = 0; t < options.trials; t++) {
    const rng = seededRng(options.seed * 7919 + t);
    const levels = [finest];
    for (;;) {
      const top = levels[levels.length - 1] as Level;
      if (top.n <= options.coarsestPerCloud * part.k) break;
      const coarse = coarsen(top, rng, maxWeight);
      if (coarse.n > 0.95 * top.n) break;
      levels.push(coarse);
    }
    // The coarsest graph is small: try several perturbed initial assignments, refined, keep the best.
    const coarsest = levels[levels.length - 1] as Level;
    let initial: Int32Array | null = null;
    let initialCost = Number.POSITIVE_INFINITY;
    for (let i = 0; i < options.initialTries; i++) {
      const candidate = initialAssignment(coarsest, part, rng, t === 0 && i === 0 ? 0 : options.noise);
      if (candidate === null) continue;
      const used = loads(coarsest, part, candidate);
      rebalance(coarsest, part, candidate, used);
      refine(coarsest, part, candidate, used, options.refinePasses);
      const cost = levelCost(coarsest, part, candidate);
      if (cost < initialCost) {
        initial = candidate;
        initialCost = cost;
      }
    }
    if (initial === null) continue;
    let where: Int32Array = initial;
    let balanced = false;
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i] as Level;
      if (i < levels.length - 1) {
        const coarser = levels[i + 1] as Level;
        const map = coarser.fineToCoarse as Int32Array;
        const coarseWhere: Int32Array = where;
        where = Int32Array.from({ length: level.n }, (_, v) => coarseWhere[map[v] as number] as number);
      }
      const used = loads(level, part, where);
      balanced = rebalance(level, part, where, used);
      refine(level, part, where, used, options.refinePasses);
      // Hill climbing escapes where greedy refinement stops; greedy then tidies what it opened.
      for (let round = 0; round < options.fmRounds; round++) {
        fmRefine(level, part, where, used);
        refine(level, part, where, used, options.refinePasses);
      }
    }
    if (!balanced) continue;
    const cost = levelCost(finest, part, where);
    if (cost < bestCost) {
      best = where;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * Largest merged vertex allowed while coarsening: a quarter of the smallest cloud, so the coarsest
 * graph can still be packed and balanced (unlimited resources impose no limit).
 */
function matchLimit(part: Partitioning): Float64Array {
  const limit = new Float64Array(3).fill(Number.POSITIVE_INFINITY);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < part.k; c++)
      limit[r] = Math.min(limit[r] as number, (part.capacity[c * 3 + r] as number) / 4);
  }
  return limit;
}
