import { localSearch, makeFeasible } from '../local-search.js';
import { PlacementState } from '../placement-state.js';
import type { PlanProblem } from '../problem.js';
import { seededRng } from '../rng.js';
import { InfeasibleError, type SolveOptions, type SolveResult, type Solver } from '../solver.js';

/** Where VMs are now; new VMs and VMs that break a constraint go to their cheapest feasible cloud. */
export const currentSolver: Solver = {
  name: 'current placement',
  async solve(p: PlanProblem): Promise<SolveResult> {
    const started = performance.now();
    const initial = p.vms.map((vm) => vm.current);
    const state = new PlacementState(p, initial);
    if (!makeFeasible(state, initial)) throw new InfeasibleError();
    return {
      placement: state.placement,
      solver: this.name,
      optimal: false,
      seconds: (performance.now() - started) / 1000,
      notes: [],
    };
  },
};

/** From the current placement, the best single move or swap, repeatedly, until none improves. */
export const greedySolver: Solver = {
  name: 'greedy',
  async solve(p: PlanProblem, options: SolveOptions): Promise<SolveResult> {
    const started = performance.now();
    const initial = p.vms.map((vm) => vm.current);
    const state = new PlacementState(p, initial);
    if (!makeFeasible(state, initial)) throw new InfeasibleError();
    const improvements = localSearch(state, seededRng(options.seed));
    return {
      placement: state.placement,
      solver: this.name,
      optimal: false,
      seconds: (performance.now() - started) / 1000,
      notes: [`${improvements} improving steps`],
    };
  },
};
