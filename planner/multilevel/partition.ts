import { seededRng } from '../rng.js';
import { recursiveBisection } from './bisection.js';
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
  /** More initial assignments per trial by recursive bisection, where the level allows it. */
  bisectionTries: number;
  /** Fiduccia-Mattheyses rounds per level. */
  fmRounds: number;
  /** Initial assignments refined down to the middle level before one is chosen. */
  carried: number;
}

export const MULTILEVEL_DEFAULTS: MultilevelOptions = {
  seed: 1,
  trials: 4,
  coarsestPerCloud: 30,
  refinePasses: 8,
  noise: 0.3,
  initialTries: 8,
  bisectionTries: 4,
  fmRounds: 2,
  carried: 4,
};

/**
 * METIS-style multilevel partitioning with the placement cost as objective: coarsen by heavy-edge
 * matching, assign the coarsest graph greedily under capacities (and by recursive bisection where every
 * cloud may hold every vertex), then project back level by level with greedy k-way refinement. Returns
 * the cloud of each vertex of `finest`, or null when no trial found a feasible assignment.
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
    // The coarsest graph is small: try several perturbed initial assignments and carry the cheapest
    // few down to a level a twentieth of the finest, where the cheapest goes on. The coarsest cost alone
    // predicts the final one poorly, and coarse levels are cheap to refine.
    const coarsest = levels.length - 1;
    const candidates: [number, Int32Array][] = [];
    const top = levels[coarsest] as Level;
    for (let i = 0; i < options.initialTries + options.bisectionTries; i++) {
      const candidate =
        i < options.initialTries
          ? initialAssignment(top, part, rng, t === 0 && i === 0 ? 0 : options.noise)
          : recursiveBisection(top, part, rng);
      if (candidate === null) continue;
      const used = loads(top, part, candidate);
      rebalance(top, part, candidate, used);
      refine(top, part, candidate, used, options.refinePasses);
      candidates.push([levelCost(top, part, candidate), candidate]);
    }
    if (candidates.length === 0) continue;
    candidates.sort((a, b) => a[0] - b[0]);
    const found = levels.findIndex((level) => level.n <= finest.n / 20);
    const middle = found < 0 ? coarsest : found;
    let where: Int32Array | null = null;
    let middleCost = Number.POSITIVE_INFINITY;
    for (const [, candidate] of candidates.slice(0, options.carried)) {
      const projected = descend(levels, part, candidate, coarsest, middle, options);
      if (projected === null) continue;
      const cost = levelCost(levels[middle] as Level, part, projected);
      if (cost < middleCost) {
        where = projected;
        middleCost = cost;
      }
    }
    if (where !== null && middle > 0)
      where = descend(levels, part, project(levels, middle, where), middle - 1, 0, options);
    if (where === null) continue;
    const cost = levelCost(finest, part, where);
    if (cost < bestCost) {
      best = where;
      bestCost = cost;
    }
  }
  return best;
}

/**
 * Refines `where`, an assignment of levels[from], then projects it level by level down to levels[to],
 * rebalancing and refining each. Returns null when capacities cannot be restored.
 */
function descend(
  levels: Level[],
  part: Partitioning,
  where: Int32Array,
  from: number,
  to: number,
  options: MultilevelOptions,
): Int32Array | null {
  let balanced = false;
  for (let i = from; i >= to; i--) {
    const level = levels[i] as Level;
    if (i < from) where = project(levels, i + 1, where);
    const used = loads(level, part, where);
    balanced = rebalance(level, part, where, used);
    refine(level, part, where, used, options.refinePasses);
    // Hill climbing escapes where greedy refinement stops; greedy then tidies what it opened.
    for (let round = 0; round < options.fmRounds; round++) {
      fmRefine(level, part, where, used);
      refine(level, part, where, used, options.refinePasses);
    }
  }
  return balanced ? where : null;
}

/** The assignment of levels[coarse - 1] that puts each vertex where its coarse vertex is. */
function project(levels: Level[], coarse: number, where: Int32Array): Int32Array {
  const map = (levels[coarse] as Level).fineToCoarse as Int32Array;
  return Int32Array.from(map, (u) => where[u] as number);
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
