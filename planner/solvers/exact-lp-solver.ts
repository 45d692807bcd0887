import lpSolverModule, { type Model } from 'javascript-lp-solver';
import type { PlanProblem } from '../problem.js';
import type { SolveOptions, SolveResult, Solver } from '../solver.js';
import { InfeasibleError } from './exact-highs.js';
import { buildMilp, placementFromX } from './milp-model.js';

// Its types describe the CommonJS build; the ES build exports the solver as the default.
type LpSolver = typeof lpSolverModule.default;
const lpSolver = ((lpSolverModule as unknown as { default?: LpSolver }).default ??
  lpSolverModule) as LpSolver;

/**
 * The same MILP through javascript-lp-solver (pure JavaScript branch and bound): a second, independent
 * exact backend for small instances and for cross-checking HiGHS.
 */
export const lpSolverSolver: Solver = {
  name: 'exact (javascript-lp-solver)',
  async solve(p: PlanProblem, options: SolveOptions): Promise<SolveResult> {
    const started = performance.now();
    const milp = buildMilp(p);
    const model: Model = {
      optimize: 'cost',
      opType: 'min',
      constraints: {},
      variables: {},
      binaries: {},
      timeout: options.timeLimitSeconds * 1000,
    };
    milp.names.forEach((name, i) => {
      model.variables[name] = { cost: milp.cost[i] as number };
      if (milp.binary[i]) (model.binaries as Record<string, 1>)[name] = 1;
      else {
        model.constraints[`ub_${name}`] = { max: milp.upper[i] as number };
        (model.variables[name] as Record<string, number>)[`ub_${name}`] = 1;
      }
    });
    for (const row of milp.rows) {
      if (row.terms.length === 0) continue;
      const bound: { min?: number; max?: number; equal?: number } = {};
      if (row.lo === row.hi) bound.equal = row.lo;
      else {
        if (Number.isFinite(row.lo)) bound.min = row.lo;
        if (Number.isFinite(row.hi)) bound.max = row.hi;
      }
      model.constraints[row.name] = bound;
      for (const [col, coef] of row.terms) {
        const v = model.variables[milp.names[col] as string] as Record<string, number>;
        v[row.name] = (v[row.name] ?? 0) + coef;
      }
    }
    const result = lpSolver.Solve(model) as { feasible: boolean; isIntegral?: boolean };
    if (!result.feasible) throw new InfeasibleError();
    const values = result as unknown as Record<string, number | undefined>;
    const placement = placementFromX(p, milp, (col) => values[milp.names[col] as string] ?? 0);
    return {
      placement,
      solver: this.name,
      optimal: result.isIntegral !== false,
      seconds: (performance.now() - started) / 1000,
      notes: [`${milp.names.length} variables, ${milp.rows.length} constraints`],
    };
  },
};
