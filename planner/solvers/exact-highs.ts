import highsModule from 'highs';
import type { PlanProblem } from '../problem.js';
import { InfeasibleError, type SolveOptions, type SolveResult, type Solver } from '../solver.js';
import { buildMilp, type Milp, placementFromX } from './milp-model.js';

// The package's types describe its CommonJS build; its ES build exports the loader as the default.
type Loader = typeof highsModule.default;
const loadHighs = ((highsModule as unknown as { default?: Loader }).default ?? highsModule) as Loader;
type Highs = Awaited<ReturnType<Loader>>;
let highs: Promise<Highs> | undefined;

const STATUS_OPTIMAL = 7;
const STATUS_INFEASIBLE = 8;
const PRIMAL_FEASIBLE = 2;

/** Exact MILP through HiGHS (WebAssembly): proves optimality, or stops at the time limit with a gap. */
export const highsSolver: Solver = {
  name: 'exact (HiGHS)',
  async solve(p: PlanProblem, options: SolveOptions): Promise<SolveResult> {
    highs ??= loadHighs();
    const h = await highs;
    const started = performance.now();
    const milp = buildMilp(p);
    const model = h.createModel({ format: 'lp', data: lpText(milp) });
    try {
      model.options.set({
        output_flag: false,
        time_limit: options.timeLimitSeconds,
        mip_rel_gap: 1e-6,
        mip_abs_gap: 1e-9,
        random_seed: options.seed,
      });
      // A heuristic plan as the first incumbent lets branch and bound prune from the start.
      const start = options.warmStart;
      if (start !== undefined) {
        const indices: number[] = [];
        const values: number[] = [];
        milp.x.forEach((col, i) => {
          if (col < 0) return;
          indices.push(col);
          values.push(start[Math.floor(i / p.clouds.length)] === i % p.clouds.length ? 1 : 0);
        });
        model.setSolution({ indices, values });
      }
      model.run();
      const status = model.getModelStatus() as number;
      if (status === STATUS_INFEASIBLE) throw new InfeasibleError();
      if (Number(model.info.get('primal_solution_status')) !== PRIMAL_FEASIBLE) {
        throw new Error(`HiGHS found no plan within ${options.timeLimitSeconds} s (status ${status})`);
      }
      const values = model.getSolution().colValue;
      const placement = placementFromX(p, milp, (col) => values[col] as number);
      const bound = Number(model.info.get('mip_dual_bound'));
      const gap = Number(model.info.get('mip_gap'));
      const optimal = status === STATUS_OPTIMAL;
      return {
        placement,
        solver: this.name,
        optimal,
        bound,
        gap: optimal ? 0 : gap,
        seconds: (performance.now() - started) / 1000,
        notes: [`${milp.names.length} variables, ${milp.rows.length} constraints`],
      };
    } finally {
      model.dispose();
    }
  },
};

/** CPLEX LP text, which HiGHS reads directly. */
export function lpText(m: Milp): string {
  const term = (coef: number, col: number) => `${coef < 0 ? '-' : '+'} ${Math.abs(coef)} ${m.names[col]}`;
  const lines = ['Minimize', ` obj: ${m.cost.map((c, i) => term(c, i)).join(' ') || '0'}`, 'Subject To'];
  for (const row of m.rows) {
    if (row.terms.length === 0) continue;
    const lhs = row.terms.map(([col, coef]) => term(coef, col)).join(' ');
    if (row.lo === row.hi) lines.push(` ${row.name}: ${lhs} = ${row.lo}`);
    else {
      if (Number.isFinite(row.lo)) lines.push(` ${row.name}_lo: ${lhs} >= ${row.lo}`);
      if (Number.isFinite(row.hi)) lines.push(` ${row.name}_hi: ${lhs} <= ${row.hi}`);
    }
  }
  lines.push('Bounds');
  m.names.forEach((name, i) => {
    if (!m.binary[i]) lines.push(` 0 <= ${name} <= ${m.upper[i]}`);
  });
  lines.push('Binaries', ` ${m.names.filter((_, i) => m.binary[i]).join(' ')}`, 'End');
  return lines.join('\n');
}
