import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Model } from 'javascript-lp-solver';
import type { PlanProblem } from '../problem.js';
import { InfeasibleError, type SolveOptions, type SolveResult, type Solver } from '../solver.js';
import { buildMilp, placementFromX } from './milp-model.js';

/**
 * javascript-lp-solver runs synchronously and does not always honour its timeout, so it runs in a worker
 * thread that is terminated at the time limit: a slow instance fails cleanly instead of hanging.
 */
function solveInWorker(model: Model, seconds: number): Promise<Record<string, number | boolean | undefined>> {
  const modulePath = createRequire(import.meta.url).resolve('javascript-lp-solver');
  const code = `const { parentPort, workerData } = require('node:worker_threads');
const solver = require(${JSON.stringify(modulePath)});
parentPort.postMessage((solver.default ?? solver).Solve(workerData));`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: model });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(
        new Error(
          `javascript-lp-solver did not finish within ${seconds} s: use --solver exact (HiGHS) for this instance`,
        ),
      );
    }, seconds * 1000);
    worker.once('message', (result) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

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
      options: { exitOnCycles: true },
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
    const result = await solveInWorker(model, options.timeLimitSeconds);
    if (!result.feasible) throw new InfeasibleError();
    const values = result as Record<string, number | undefined>;
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
