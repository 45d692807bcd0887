import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate } from '../../planner/objective.js';
import { seededRng } from '../../planner/rng.js';
import { SOLVERS } from '../../planner/solve.js';
import { textTable } from '../../src/text-format.js';
import { ROOT } from '../helpers.js';
import { randomProblem } from '../planner/random-problem.js';
import { cut, GRAPH_FAMILIES, graphJson, metisText } from './graph-families.js';

/**
 * `npm run bench:plan`: (1) the heuristics against proven optima on 50 random instances, (2) `sky-plan plan`
 * end to end against gpmetis on five graph families of 100k vertices and ~500k edges with a pure edge-cut
 * objective, in the same run, paired by seed, (3) the time HiGHS needs to prove 60 VMs × 3 clouds optimal.
 * Options: --instances N (default 50), --vertices N (default 100000), --seeds N (default 5), --exact N (default 20),
 * --families a,b (default all: geometric, mesh, power-law, communities, random).
 */
const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const fmt = (x: number, d = 3) => x.toFixed(d);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};

// 1. Against the optimum.
if (option('--instances', 50) > 0) {
  const count = option('--instances', 50);
  const ratios: Record<string, number[]> = { multilevel: [], greedy: [] };
  const exactTimes: number[] = [];
  for (let i = 0; i < count; i++) {
    const rng = seededRng(9000 + i);
    const vms = 20 + Math.floor(rng() * 21);
    const clouds = 3 + Math.floor(rng() * 2);
    const p = randomProblem(9000 + i, vms, clouds, { constraints: i % 2 === 0, images: true });
    const t = performance.now();
    const exact = await SOLVERS.exact.solve(p, { seed: 1, timeLimitSeconds: 120 });
    exactTimes.push((performance.now() - t) / 1000);
    if (!exact.optimal) throw new Error(`instance ${i} not proven optimal`);
    const optimum = evaluate(p, exact.placement).cost.total;
    for (const name of ['multilevel', 'greedy'] as const) {
      const r = await SOLVERS[name].solve(p, { seed: 1, timeLimitSeconds: 10 });
      (ratios[name] as number[]).push(evaluate(p, r.placement).cost.total / optimum);
    }
  }
  process.stdout.write(
    `1. heuristic cost / proven optimum, ${count} instances of 20-40 VMs × 3-4 clouds (half with pins, residency, affinity, anti-affinity and a move limit):\n`,
  );
  for (const [name, xs] of Object.entries(ratios)) {
    process.stdout.write(
      `   ${name.padEnd(10)} median ${fmt(quantile(xs, 0.5), 4)}, worst ${fmt(Math.max(...xs), 4)}  (targets: <= 1.01, <= 1.05)\n`,
    );
  }
  process.stdout.write(
    `   exact (HiGHS) time to prove: median ${fmt(quantile(exactTimes, 0.5), 2)} s, worst ${fmt(Math.max(...exactTimes), 2)} s\n`,
  );
}

// 2. Against METIS, end to end: `sky-plan plan` reads the graph JSON, solves, writes the plan.
{
  const n = option('--vertices', 100_000);
  const seeds = option('--seeds', 5);
  const k = 8;
  const dir = join(tmpdir(), 'sky-plan-bench');
  mkdirSync(dir, { recursive: true });
  // Every cloud holds 3% more than an even share; egress between any two costs the same, so the
  // plan's cost is the edge cut. VMs are new (no current cloud): no move costs anything.
  const spec = join(dir, 'plan-clouds.json');
  const clouds = Array.from({ length: k }, (_, c) => ({
    name: `c${c}`,
    capacity: { vms: Math.floor((1.03 * n) / k) },
    egress: { default: 0.02 },
  }));
  writeFileSync(spec, JSON.stringify({ clouds }));
  process.stdout.write(
    `\n2. sky-plan plan --solver multilevel (CLI: read the graph JSON, solve, write the plan) against gpmetis on the same graph, k = ${k}, <= 3% imbalance, seeds 1-${seeds} paired with gpmetis -seed:\n`,
  );
  const rows: string[][] = [];
  const only = args.includes('--families') ? args[args.indexOf('--families') + 1]?.split(',') : undefined;
  for (const [family, make] of Object.entries(GRAPH_FAMILIES)) {
    if (only !== undefined && !only.includes(family)) continue;
    const cutRatios: number[] = [];
    const timeRatios: number[] = [];
    let rss = 0;
    let edges = 0;
    for (let seed = 1; seed <= seeds; seed++) {
      const g = make(n, seed);
      edges = g.edges.length;
      const metisFile = join(dir, `plan-${family}.metis`);
      const graphFile = join(dir, `plan-${family}.json`);
      const planFile = join(dir, `plan-${family}.plan.json`);
      writeFileSync(metisFile, metisText(g));
      writeFileSync(graphFile, graphJson(g));
      const t0 = performance.now();
      const metis = spawnSync(
        'gpmetis',
        ['-ptype=kway', '-ufactor=30', `-seed=${seed}`, metisFile, String(k)],
        {
          encoding: 'utf8',
        },
      );
      const metisSeconds = (performance.now() - t0) / 1000;
      if (metis.status !== 0)
        throw new Error(
          `gpmetis failed (apt-get install metis): ${metis.stderr}${metis.error?.message ?? ''}`,
        );
      const metisPart = readFileSync(`${metisFile}.part.${k}`, 'utf8').trim().split('\n').map(Number);
      const t1 = performance.now();
      const ours = spawnSync(
        process.execPath,
        [
          join(ROOT, 'dist/test/bench/max-rss.js'),
          'plan',
          '--graph',
          graphFile,
          '--clouds',
          spec,
          '--solver',
          'multilevel',
          '--seed',
          String(seed),
          '--out',
          planFile,
        ],
        { encoding: 'utf8', maxBuffer: 64 << 20 },
      );
      const oursSeconds = (performance.now() - t1) / 1000;
      if (ours.status !== 0) throw new Error(`sky-plan plan failed: ${ours.stderr}`);
      rss = Math.max(rss, Number(/max-rss (\d+)/.exec(ours.stderr)?.[1]));
      const placement = (JSON.parse(readFileSync(planFile, 'utf8')) as { placement: Record<string, string> })
        .placement;
      const where = Array.from({ length: g.n }, (_, v) => Number((placement[`v${v}`] as string).slice(1)));
      cutRatios.push(cut(g, where) / cut(g, metisPart));
      timeRatios.push(oursSeconds / metisSeconds);
    }
    rows.push([
      family,
      String(edges),
      `${fmt(quantile(cutRatios, 0.5))}x`,
      `${fmt(Math.max(...cutRatios))}x`,
      `${fmt(quantile(timeRatios, 0.5), 1)}x`,
      `${fmt(Math.max(...timeRatios), 1)}x`,
      `${fmt(rss / 1e6, 0)} MB`,
    ]);
  }
  process.stdout.write(
    `${textTable(['family', 'edges', 'cut median', 'cut worst', 'time median', 'time worst', 'peak RSS'], rows)}\n`,
  );
  process.stdout.write('   targets: cut <= 1.00x (median) on every family, time <= 3x, peak RSS <= 2 GB\n');
}

// 3. Exact scale: 60 VMs × 3 clouds with their own prices and vCPU capacities.
if (option('--exact', 20) > 0) {
  const count = option('--exact', 20);
  const times: number[] = [];
  let unproven = 0;
  for (let i = 0; i < count; i++) {
    const p = randomProblem(7000 + i, 60, 3, { images: true, constraints: i % 2 === 1 });
    const t = performance.now();
    const r = await SOLVERS.exact.solve(p, { seed: 1, timeLimitSeconds: 60 });
    times.push((performance.now() - t) / 1000);
    if (!r.optimal) unproven++;
  }
  process.stdout.write(
    `\n3. HiGHS proves 60 VMs × 3 clouds optimal (${count} instances, half constrained): median ${fmt(quantile(times, 0.5), 2)} s, worst ${fmt(Math.max(...times), 2)} s, ${times.filter((t) => t <= 10).length} of ${count} within 10 s, ${unproven} not proven in 60 s (target <= 10 s)\n`,
  );
}
