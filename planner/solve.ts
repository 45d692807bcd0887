import { findConflicts } from './infeasibility.js';
import { evaluate, violations } from './objective.js';
import type { PlanProblem } from './problem.js';
import {
  InfeasibleError,
  SOLVE_DEFAULTS,
  type SolveOptions,
  type SolveResult,
  type Solver,
} from './solver.js';
import { highsSolver } from './solvers/exact-highs.js';
import { lpSolverSolver } from './solvers/exact-lp-solver.js';
import { currentSolver, greedySolver } from './solvers/greedy.js';
import { multilevelSolver as multilevelOnly } from './solvers/multilevel.js';
import { buildUnits } from './units.js';

/** Greedy competes with multilevel up to this many units (VMs bound together), and whenever it fails. */
const GREEDY_UNITS_LIMIT = 5000;

/**
 * Best of multilevel and greedy. Steepest descent from the current placement adds moves best-first, which
 * wins when a move limit or budget binds.
 */
const multilevelSolver: Solver = {
  name: multilevelOnly.name,
  async solve(p, options) {
    const started = performance.now();
    const multilevel = await multilevelOnly.solve(p, options).catch((err: unknown) => {
      if (err instanceof InfeasibleError) return undefined;
      throw err;
    });
    let best = multilevel;
    if (multilevel === undefined || buildUnits(p).members.length <= GREEDY_UNITS_LIMIT) {
      options.onProgress?.(
        'greedy descent from the current placement',
        multilevel === undefined ? undefined : evaluate(p, multilevel.placement).cost.total,
      );
      const greedy = await greedySolver.solve(p, options).catch(() => undefined);
      if (
        greedy !== undefined &&
        (multilevel === undefined ||
          evaluate(p, greedy.placement).cost.total < evaluate(p, multilevel.placement).cost.total)
      ) {
        best = {
          ...(multilevel ?? greedy),
          placement: greedy.placement,
          notes: [
            ...(multilevel?.notes.slice(0, 1) ?? []),
            'the greedy descent from the current placement won',
          ],
        };
      }
    }
    if (best === undefined) throw new InfeasibleError();
    return { ...best, solver: multilevelOnly.name, seconds: (performance.now() - started) / 1000 };
  },
};

/**
 * HiGHS from a multilevel plan: an incumbent from the start lets branch and bound prune at once. When
 * multilevel finds no feasible plan, HiGHS starts cold.
 */
async function warmExact(
  p: PlanProblem,
  options: SolveOptions,
): Promise<{ exact: SolveResult; heuristic?: SolveResult }> {
  const heuristic = await multilevelSolver.solve(p, options).catch(() => undefined);
  options.onProgress?.(
    `exact (HiGHS), up to ${options.timeLimitSeconds} s`,
    heuristic === undefined ? undefined : evaluate(p, heuristic.placement).cost.total,
  );
  const exact = await highsSolver.solve(p, { ...options, warmStart: heuristic?.placement });
  return heuristic === undefined ? { exact } : { exact, heuristic };
}

const exactSolver: Solver = {
  name: highsSolver.name,
  solve: async (p, options) => (await warmExact(p, options)).exact,
};

export const SOLVERS = {
  exact: exactSolver,
  'exact-lp': lpSolverSolver,
  multilevel: multilevelSolver,
  greedy: greedySolver,
  current: currentSolver,
} as const satisfies Record<string, Solver>;

export type SolverName = keyof typeof SOLVERS | 'auto';

/** `auto` proves optimality up to this many (VM × cloud) decisions, where HiGHS does it in seconds. */
export const AUTO_EXACT_LIMIT = 400;

export interface PlanResult extends SolveResult {
  /** Why this solver (for `auto`), and anything the contract changed. */
  reason: string;
}

/**
 * Solves with the named solver under the contract every solver shares: hard constraints hold, and the
 * plan is never worse than the current placement (when that is feasible, it is kept if it is cheaper).
 */
export async function solve(
  p: PlanProblem,
  name: SolverName = 'auto',
  options: SolveOptions = SOLVE_DEFAULTS,
): Promise<PlanResult> {
  const conflicts = findConflicts(p);
  if (conflicts.length > 0) throw new InfeasibleError(conflicts);
  const decisions = p.vms.length * p.clouds.length;
  let reason: string;
  let result: SolveResult;
  if (name === 'auto') {
    if (decisions <= AUTO_EXACT_LIMIT) {
      reason = `exact: ${p.vms.length} VMs × ${p.clouds.length} clouds = ${decisions} decisions (≤ ${AUTO_EXACT_LIMIT}), small enough to prove optimal`;
      const { exact, heuristic } = await warmExact(p, options);
      result = exact;
      if (
        !exact.optimal &&
        heuristic !== undefined &&
        evaluate(p, heuristic.placement).cost.total < evaluate(p, exact.placement).cost.total
      ) {
        reason += '; the time limit hit before a proof, and the multilevel plan was cheaper';
        result = {
          ...heuristic,
          bound: exact.bound ?? Number.NaN,
          notes: [...heuristic.notes, ...exact.notes],
        };
      }
    } else {
      reason = `multilevel: ${decisions} decisions (> ${AUTO_EXACT_LIMIT}), too many to prove quickly`;
      result = await multilevelSolver.solve(p, options);
    }
  } else {
    reason = `${name}: as requested`;
    result = await SOLVERS[name].solve(p, options);
  }
  const broken = violations(p, result.placement);
  if (broken.length > 0)
    throw new Error(`solver ${result.solver} returned an infeasible plan: ${broken.join('; ')}`);
  const current = p.vms.map((vm) => vm.current);
  if (!current.includes(-1) && violations(p, current).length === 0) {
    if (evaluate(p, current).cost.total < evaluate(p, result.placement).cost.total - 1e-9) {
      result = {
        ...result,
        placement: Int32Array.from(current),
        optimal: false,
        notes: [...result.notes, 'kept the current placement: it was cheaper'],
      };
    }
  }
  return { ...result, reason };
}
