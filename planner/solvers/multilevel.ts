import { localSearch, makeFeasible } from '../local-search.js';
import { problemLevel } from '../multilevel/from-problem.js';
import { MULTILEVEL_DEFAULTS, multilevelPartition } from '../multilevel/partition.js';
import { evaluate } from '../objective.js';
import { PlacementState } from '../placement-state.js';
import type { PlanProblem } from '../problem.js';
import { seededRng } from '../rng.js';
import { InfeasibleError, type SolveOptions, type SolveResult, type Solver } from '../solver.js';

/**
 * Multilevel heuristic for large clusters: METIS-style coarsening, initial assignment and k-way
 * refinement on the separable part of the cost (compute, internet, own migration bytes, traffic), then
 * an exact local search at VM level for what coarse levels cannot see (shared image content, the move
 * limit and migration budgets), after moving units back home until the limits hold.
 */
export const multilevelSolver: Solver = {
  name: 'multilevel',
  async solve(p: PlanProblem, options: SolveOptions): Promise<SolveResult> {
    const started = performance.now();
    const base = new PlacementState(
      p,
      p.vms.map((vm) => vm.current),
    );
    const { level, part } = problemLevel(p, base.units, base.unitUnary);
    // Small instances afford many restarts, each finished by the exact local search; large ones a few.
    const units = base.units.members.length;
    const restarts = units <= 200 ? 12 : units <= 5000 ? 4 : 1;
    let best: { placement: Int32Array; cost: number; notes: string[] } | undefined;
    for (let r = 0; r < restarts; r++) {
      options.onProgress?.(
        `multilevel: restart ${r + 1} of ${restarts}, coarsening and refining`,
        best?.cost,
      );
      // Small clusters coarsen down to a few groups per cloud: whole communities then move together.
      const where = multilevelPartition(level, part, {
        ...MULTILEVEL_DEFAULTS,
        seed: options.seed * 1000 + r,
        trials: 1,
        coarsestPerCloud: units <= 200 ? 4 : MULTILEVEL_DEFAULTS.coarsestPerCloud,
      });
      if (where === null) continue;
      const placement = new Int32Array(p.vms.length);
      base.units.members.forEach((vs, u) => {
        for (const v of vs) placement[v] = where[u] as number;
      });
      const state = new PlacementState(p, placement, base.model);
      const notes: string[] = [];
      const returned = withinLimits(state);
      if (returned > 0) notes.push(`${returned} moves undone to respect the move limit or migration budget`);
      if (!state.feasible() && !makeFeasible(state, state.placement)) continue;
      if (units <= 5000) {
        options.onProgress?.(`multilevel: restart ${r + 1} of ${restarts}, local search`, best?.cost);
        localSearch(state, seededRng(options.seed * 1000 + r), 10);
      }
      if (!state.feasible()) continue;
      const cost = evaluate(p, state.placement).cost.total;
      if (best === undefined || cost < best.cost)
        best = { placement: Int32Array.from(state.placement), cost, notes };
    }
    if (best === undefined) throw new InfeasibleError();
    return {
      placement: best.placement,
      solver: this.name,
      optimal: false,
      seconds: (performance.now() - started) / 1000,
      notes: [
        restarts === 1 ? 'one restart (large instance)' : `best of ${restarts} restarts`,
        ...best.notes,
      ],
    };
  },
};

/** Sends moved units home, cheapest first, until the move limit and budgets hold; returns how many. */
function withinLimits(state: PlacementState): number {
  const { p } = state;
  const over = () =>
    (p.maxMoves !== undefined && state.moves > p.maxMoves) ||
    (p.budget?.bytes !== undefined && state.bytes > p.budget.bytes) ||
    (p.budget?.dollars !== undefined && state.dollars > p.budget.dollars) ||
    (p.budget?.seconds !== undefined && state.seconds > p.budget.seconds);
  let undone = 0;
  while (over()) {
    let best = -1;
    let bestDelta = Number.POSITIVE_INFINITY;
    state.units.members.forEach((vs, u) => {
      const home = p.vms[vs[0] as number]?.current ?? -1;
      if (home < 0 || state.unitCloud[u] === home || vs.some((v) => p.vms[v]?.current !== home)) return;
      // Going home only lowers the totals the limits bound, so price it without checking them.
      const d = state.delta(u, home, false);
      if (d < bestDelta) {
        best = u;
        bestDelta = d;
      }
    });
    if (best < 0) break;
    state.assign(best, p.vms[(state.units.members[best] as number[])[0] as number]?.current ?? 0);
    undone++;
  }
  return undone;
}
