import type { PlacementState } from './placement-state.js';

const EPS = 1e-9;

/**
 * Repairs a placement into a feasible one: units with no cloud, in a cloud they may not use, or in an
 * over-full cloud go, largest first, to the cheapest cloud that takes them. Returns false when some unit
 * fits nowhere.
 */
export function makeFeasible(state: PlacementState, initial: ArrayLike<number>): boolean {
  const { units, k } = state;
  const m = units.members.length;
  const order = Array.from({ length: m }, (_, u) => u).sort(
    (x, y) => (units.vcpus[y] as number) - (units.vcpus[x] as number),
  );
  // Take out every unit whose spot is not valid, then re-insert them.
  const displaced: number[] = [];
  for (const u of order) {
    const c = state.unitCloud[u] as number;
    // Largest first: an over-full cloud sheds its biggest units until it fits, so few units move.
    if (c >= 0 && state.overfull(c)) {
      displaced.push(u);
      state.release(u);
      continue;
    }
    const split = (units.members[u] as number[]).some((v) => initial[v] !== c);
    if (c < 0 || units.allowed[u * k + c] === 0 || split || !state.antiAllows(u, c)) displaced.push(u);
  }
  for (const u of displaced) state.release(u);
  // Loads were kept current while releasing; move and budget totals are recomputed once.
  state.recount();
  for (const u of displaced) {
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let c = 0; c < k; c++) {
      if (!state.fits(u, c)) continue;
      const cost = state.unitUnary[u * k + c] as number;
      if (cost < bestCost) {
        best = c;
        bestCost = cost;
      }
    }
    if (best < 0) return false;
    state.assign(u, best);
  }
  return true;
}

/**
 * Steepest-descent local search: each pass offers every unit its best single move, then tries pairwise
 * swaps between units that exchange traffic, until a pass improves nothing. Deterministic for a seed.
 */
export function localSearch(state: PlacementState, rng: () => number, maxPasses = 100): number {
  const { k, units } = state;
  const m = units.members.length;
  let improvements = 0;
  for (let pass = 0; pass < maxPasses; pass++) {
    let improved = false;
    const order = shuffle(
      Array.from({ length: m }, (_, u) => u),
      rng,
    );
    for (const u of order) {
      let best = -1;
      let bestDelta = -EPS;
      for (let c = 0; c < k; c++) {
        if (c === state.unitCloud[u]) continue;
        const d = state.delta(u, c);
        if (d < bestDelta) {
          best = c;
          bestDelta = d;
        }
      }
      if (best >= 0) {
        state.assign(u, best);
        improved = true;
        improvements++;
      }
    }
    if (swapPass(state, order)) {
      improved = true;
      improvements++;
    }
    if (!improved) break;
  }
  return improvements;
}

/** Exchanges of two units in different clouds, when capacity blocks either single move. */
function swapPass(state: PlacementState, order: number[]): boolean {
  const m = order.length;
  if (m > 60) return false; // quadratic with full evaluations: the multilevel solver handles large instances
  let improved = false;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const u = order[i] as number;
      const w = order[j] as number;
      const a = state.unitCloud[u] as number;
      const b = state.unitCloud[w] as number;
      if (a === b || a < 0 || b < 0) continue;
      if (state.units.allowed[u * state.k + b] === 0 || state.units.allowed[w * state.k + a] === 0) continue;
      const before = state.totalCost();
      state.assign(u, b);
      state.assign(w, a);
      if (state.feasible() && state.totalCost() < before - EPS) {
        improved = true;
        continue;
      }
      state.assign(w, b);
      state.assign(u, a);
    }
  }
  return improved;
}

export function shuffle<T>(items: T[], rng: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}
