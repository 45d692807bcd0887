import type { PlanProblem } from './problem.js';

export interface SolveOptions {
  seed: number;
  /** Wall-clock limit for solvers that search (the exact MILP stops with its best plan and gap). */
  timeLimitSeconds: number;
  /** A feasible placement to start from (the exact solvers take it as their first incumbent). */
  warmStart?: Int32Array | undefined;
  /** Told each phase as it begins, with the best total cost found so far (a progress line). */
  onProgress?: ((phase: string, bestCost?: number) => void) | undefined;
}

export const SOLVE_DEFAULTS: SolveOptions = { seed: 1, timeLimitSeconds: 10 };

export interface SolveResult {
  placement: Int32Array;
  solver: string;
  /** True when the solver proved the placement optimal. */
  optimal: boolean;
  /** Proven lower bound on the total cost, and the relative gap to it, when the solver has one. */
  bound?: number;
  gap?: number;
  seconds: number;
  notes: string[];
}

/** Every solver takes the same problem and options; one contract test runs them all. */
export interface Solver {
  readonly name: string;
  solve(problem: PlanProblem, options: SolveOptions): Promise<SolveResult>;
}

/**
 * No placement satisfies the constraints: `conflicts` names them when they are known (the checks before
 * solving); a solver that finds none at all gives the general reason.
 */
export class InfeasibleError extends Error {
  constructor(
    readonly conflicts: string[] = [
      'the capacities cannot hold every VM together with the pins, residency, affinity and anti-affinity rules, move limit and budgets',
    ],
  ) {
    super(`no placement satisfies every constraint:\n  ${conflicts.join('\n  ')}`);
  }
}
