import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fmRefine } from '../../planner/multilevel/fm-refine.js';
import { problemLevel } from '../../planner/multilevel/from-problem.js';
import { levelCost, loads } from '../../planner/multilevel/refine.js';
import { evaluate, violations } from '../../planner/objective.js';
import { PlacementState } from '../../planner/placement-state.js';
import type { PlanProblem } from '../../planner/problem.js';
import { seededRng } from '../../planner/rng.js';
import { SOLVERS } from '../../planner/solve.js';
import { randomProblem } from './random-problem.js';

const cost = (p: PlanProblem, placement: ArrayLike<number>) => evaluate(p, placement).cost.total;
const options = { seed: 3, timeLimitSeconds: 60 };

/** A fixed set: plain and constrained, three and four clouds, with shared images. */
const INSTANCES = Array.from({ length: 12 }, (_, i) =>
  randomProblem(900 + i, 18 + (i % 3) * 3, 3 + (i % 2), { constraints: i % 3 === 1, images: i % 2 === 0 }),
);

describe('PlacementState.delta', () => {
  it('equals the change in total cost of every feasible move (incoming and outgoing traffic, images, compute)', () => {
    let checked = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const p = randomProblem(seed, 16, 3 + (seed % 2), { constraints: seed % 2 === 0, images: true });
      const state = new PlacementState(
        p,
        p.vms.map((vm) => vm.current),
      );
      const rng = seededRng(seed);
      for (let step = 0; step < 60; step++) {
        const u = Math.floor(rng() * state.units.members.length);
        const b = Math.floor(rng() * state.k);
        const predicted = state.delta(u, b);
        if (Number.isNaN(predicted)) continue;
        const before = state.totalCost();
        state.assign(u, b);
        const actual = state.totalCost() - before;
        assert.ok(
          Math.abs(predicted - actual) <= 1e-6 * Math.max(1, Math.abs(before)),
          `seed ${seed} step ${step}: delta ${predicted}, cost changed by ${actual}`,
        );
        checked++;
      }
    }
    assert.ok(checked > 500, `${checked} moves checked`);
  });
});

describe('Fiduccia-Mattheyses refinement', () => {
  it('never leaves a level costlier than it found it, and keeps the loads it is given right', () => {
    let improved = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const p = randomProblem(600 + seed, 30, 3 + (seed % 3), { images: seed % 2 === 0 });
      const base = new PlacementState(
        p,
        p.vms.map((vm) => vm.current),
      );
      const { level, part } = problemLevel(p, base.units, base.unitUnary);
      const where = Int32Array.from(base.unitCloud);
      const used = loads(level, part, where);
      const before = levelCost(level, part, where);
      fmRefine(level, part, where, used);
      const after = levelCost(level, part, where);
      assert.ok(after <= before + 1e-9 * Math.abs(before), `seed ${seed}: ${before} -> ${after}`);
      assert.deepEqual([...used], [...loads(level, part, where)], `seed ${seed}: loads`);
      if (after < before - 1e-9 * Math.abs(before)) improved++;
    }
    assert.ok(improved >= 20, `FM improved ${improved} of 40 levels`);
  });
});

describe("each solver on its own (not through solve()'s fallback)", () => {
  const ratios: Record<string, number[]> = { multilevel: [], greedy: [], current: [] };
  for (const [i, p] of INSTANCES.entries()) {
    it(`instance ${i}: feasible, never worse than the current placement, never better than the optimum`, async () => {
      const optimum = await SOLVERS.exact.solve(p, options);
      assert.ok(optimum.optimal, 'HiGHS proves it');
      const best = cost(p, optimum.placement);
      const current = cost(
        p,
        p.vms.map((vm) => vm.current),
      );
      for (const name of ['multilevel', 'greedy', 'current'] as const) {
        const r = await SOLVERS[name].solve(p, options);
        assert.deepEqual(violations(p, r.placement), [], `${name} is feasible`);
        const c = cost(p, r.placement);
        if (name !== 'current') assert.ok(c <= current + 1e-6, `${name} ${c} vs current ${current}`);
        assert.ok(c >= best - 1e-6 * Math.abs(best), `${name} ${c} vs optimum ${best}`);
        ratios[name]?.push(c / best);
      }
    });
  }

  it('cost against the proven optimum: multilevel at most 1.03 (median 1.005), greedy at most 1.15', () => {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const { multilevel = [], greedy = [] } = ratios;
    assert.equal(multilevel.length, INSTANCES.length);
    assert.ok(Math.max(...multilevel) <= 1.03, `multilevel worst ${Math.max(...multilevel)}`);
    assert.ok(median(multilevel) <= 1.005, `multilevel median ${median(multilevel)}`);
    assert.ok(Math.max(...greedy) <= 1.15, `greedy worst ${Math.max(...greedy)}`);
    // Greedy must earn its place: better than staying put on most instances.
    assert.ok(
      greedy.filter((r, i) => r < (ratios.current?.[i] ?? 0) - 1e-9).length >= INSTANCES.length * 0.75,
      'greedy improves on the current placement',
    );
  });
});
