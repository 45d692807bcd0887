import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluate, violations } from '../../planner/objective.js';
import type { PlanProblem } from '../../planner/problem.js';
import { SOLVERS, solve } from '../../planner/solve.js';
import { InfeasibleError } from '../../planner/solver.js';
import { randomProblem } from './random-problem.js';

/** Every placement, for an independent optimum on tiny instances. */
function bruteForce(p: PlanProblem): number {
  const n = p.vms.length;
  const k = p.clouds.length;
  const placement = new Int32Array(n);
  let best = Number.POSITIVE_INFINITY;
  const total = k ** n;
  for (let i = 0; i < total; i++) {
    let x = i;
    for (let v = 0; v < n; v++) {
      placement[v] = x % k;
      x = Math.floor(x / k);
    }
    if (violations(p, placement).length === 0) best = Math.min(best, evaluate(p, placement).cost.total);
  }
  return best;
}

const cost = (p: PlanProblem, placement: ArrayLike<number>) => evaluate(p, placement).cost.total;
const options = { seed: 7, timeLimitSeconds: 30 };

describe('solver contract (every solver)', () => {
  const problems = [
    ...Array.from({ length: 4 }, (_, i) => ({ name: `plain ${i}`, p: randomProblem(100 + i, 14, 3) })),
    ...Array.from({ length: 4 }, (_, i) => ({
      name: `constrained ${i}`,
      p: randomProblem(200 + i, 14, 3, { constraints: true, images: true }),
    })),
    { name: 'four clouds', p: randomProblem(300, 16, 4, { images: true }) },
  ];
  for (const { name, p } of problems) {
    it(`${name}: feasible, deterministic, never worse than now, never better than the proven optimum`, async () => {
      const optimum = await solve(p, 'exact', options);
      assert.ok(optimum.optimal);
      const current = p.vms.map((vm) => vm.current);
      assert.deepEqual(violations(p, current), []);
      for (const solver of ['auto', 'exact', 'multilevel', 'greedy', 'current'] as const) {
        const a = await solve(p, solver, options);
        assert.deepEqual(violations(p, a.placement), [], `${solver} is feasible`);
        const b = await solve(p, solver, options);
        assert.deepEqual(b.placement, a.placement, `${solver} is deterministic`);
        assert.ok(
          cost(p, a.placement) <= cost(p, current) + 1e-6,
          `${solver} is never worse than the current placement`,
        );
        assert.ok(
          cost(p, a.placement) >= cost(p, optimum.placement) - 1e-6,
          `${solver} does not beat a proven optimum`,
        );
      }
    });
  }

  it('the two exact backends and brute force agree on the optimum', async () => {
    for (let i = 0; i < 4; i++) {
      const p = randomProblem(400 + i, 6, 3, { constraints: i % 2 === 1, images: true });
      const truth = bruteForce(p);
      const highs = await SOLVERS.exact.solve(p, options);
      const lp = await SOLVERS['exact-lp'].solve(p, options);
      assert.ok(
        Math.abs(cost(p, highs.placement) - truth) <= 1e-6 * truth,
        `HiGHS ${cost(p, highs.placement)} vs brute force ${truth}`,
      );
      assert.ok(
        Math.abs(cost(p, lp.placement) - truth) <= 1e-6 * truth,
        `lp-solver ${cost(p, lp.placement)} vs brute force ${truth}`,
      );
    }
  });

  it('names the conflicting constraints of an infeasible problem', async () => {
    const p = randomProblem(500, 8, 3, { constraints: true });
    p.antiAffinity.push([0, 1, 2, 3]);
    p.affinity.push([6, 7]);
    (p.vms[6] as (typeof p.vms)[number]).allowed = [true, false, false];
    (p.vms[7] as (typeof p.vms)[number]).allowed = [false, true, false];
    await assert.rejects(solve(p, 'auto', options), (e: InfeasibleError) => {
      assert.ok(e instanceof InfeasibleError);
      assert.match(
        e.message,
        /anti-affinity group \[vm0, vm1, vm2, vm3\] has 4 VMs but there are only 3 clouds/,
      );
      assert.match(
        e.message,
        /affinity group \[vm6, vm7\] has no cloud every member may use \(vm6: cloud0; vm7: cloud1\)/,
      );
      return true;
    });
    const q = randomProblem(501, 8, 3);
    for (const c of q.clouds) c.capacity.vcpus = 4;
    await assert.rejects(solve(q, 'auto', options), /the VMs need \d+ vcpus in all, the clouds offer 12/);
  });

  it('respects the move limit and migration budgets', async () => {
    const p = randomProblem(600, 14, 3, { images: true });
    p.maxMoves = 2;
    p.budget = { dollars: 5 };
    for (const solver of ['exact', 'multilevel', 'greedy'] as const) {
      const r = await solve(p, solver, options);
      const e = evaluate(p, r.placement);
      assert.ok(e.moves <= 2, `${solver}: ${e.moves} moves`);
      assert.ok(e.cost.migration <= 5 + 1e-9, `${solver}: $${e.cost.migration}`);
    }
  });
});
