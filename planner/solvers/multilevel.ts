import { localSearch, makeFeasible } from '../local-search.js';
import { problemLevel } from '../multilevel/from-problem.js';
import { MULTILEVEL_DEFAULTS, multilevelPartition } from '../multilevel/partition.js';
import { PlacementState } from '../placement-state.js';
import type { PlanProblem } from '../problem.js';
import { seededRng } from '../rng.js';
import type { SolveOptions, SolveResult, Solver } from '../solver.js';
import { greedySolver } from './greedy.js';

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
    const where = multilevelPartition(level, part, { ...MULTILEVEL_DEFAULTS, seed: options.seed });
    if (where === null) {
      const fallback = await greedySolver.solve(p, options);
      return {
        ...fallback,
        solver: this.name,
        notes: ['no multilevel trial packed the coarsest graph; used greedy', ...fallback.notes],
      };
    }
    const placement = new Int32Array(p.vms.length);
    base.units.members.forEach((vs, u) => {
      for (const v of vs) placement[v] = where[u] as number;
    });
    const state = new PlacementState(p, placement);
    const notes: string[] = [];
    const returned = withinLimits(state);
    if (returned > 0) notes.push(`${returned} moves undone to respect the move limit or migration budget`);
    if (!state.feasible() && !makeFeasible(state, state.placement)) {
      const fallback = await greedySolver.solve(p, options);
      return {
        ...fallback,
        solver: this.name,
        notes: ['multilevel result could not be repaired; used greedy', ...fallback.notes],
      };
    }
    if (state.units.members.length <= 5000) localSearch(state, seededRng(options.seed), 10);
    return {
      placement: state.placement,
      solver: this.name,
      optimal: false,
      seconds: (performance.now() - started) / 1000,
      notes,
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
