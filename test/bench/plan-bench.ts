import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Level, Partitioning } from '../../planner/multilevel/level.js';
import { MULTILEVEL_DEFAULTS, multilevelPartition } from '../../planner/multilevel/partition.js';
import { evaluate } from '../../planner/objective.js';
import { seededRng } from '../../planner/rng.js';
import { SOLVERS } from '../../planner/solve.js';
import { randomProblem } from '../planner/random-problem.js';

/**
 * `npm run bench:plan`: (1) the heuristics against proven optima on 50 random instances, (2) the
 * multilevel partitioner against gpmetis on a 100k-vertex, ~500k-edge graph with a pure edge-cut objective,
 * in the same run, paired by seed, (3) the time HiGHS needs to prove 60 VMs × 3 clouds optimal.
 * Options: --instances N (default 50), --vertices N (default 100000), --seeds N (default 5).
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

// 2. Against METIS.
{
  const n = option('--vertices', 100_000);
  const seeds = option('--seeds', 5);
  const k = 8;
  const dir = join(tmpdir(), 'sky-plan-bench');
  mkdirSync(dir, { recursive: true });
  const { level, edges } = geometricGraph(n, 9, 7);
  const metisFile = join(dir, `graph-${n}.metis`);
  writeFileSync(metisFile, metisText(level));
  const part: Partitioning = {
    k,
    capacity: Float64Array.from({ length: k * 3 }, (_, i) =>
      i % 3 === 2 ? Math.floor((1.03 * n) / k) : Number.POSITIVE_INFINITY,
    ),
    egress: Float64Array.from({ length: k * k }, (_, i) => (Math.floor(i / k) === i % k ? 0 : 1)),
    perGB: 1,
  };
  const cut = (where: Int32Array) => edges.reduce((s, [u, v, w]) => s + (where[u] === where[v] ? 0 : w), 0);
  const imbalance = (where: Int32Array) => {
    const sizes = new Array<number>(k).fill(0);
    for (const c of where) sizes[c] = (sizes[c] as number) + 1;
    return Math.max(...sizes) / (n / k);
  };
  process.stdout.write(
    `\n2. edge cut on a ${n}-vertex, ${edges.length}-edge weighted graph, k = ${k}, <= 3% imbalance, seeds 1-${seeds}:\n`,
  );
  // Both partitioners are randomized: each seed is one paired run, and the ratios are per seed.
  const cutRatios: number[] = [];
  const timeRatios: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
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
      throw new Error(`gpmetis failed (apt-get install metis): ${metis.stderr}${metis.error?.message ?? ''}`);
    const metisPart = Int32Array.from(
      readFileSync(`${metisFile}.part.${k}`, 'utf8').trim().split('\n').map(Number),
    );
    const t1 = performance.now();
    const ours = multilevelPartition(level, part, { ...MULTILEVEL_DEFAULTS, seed, trials: 1 });
    const oursSeconds = (performance.now() - t1) / 1000;
    if (ours === null) throw new Error('multilevel found no balanced partition');
    cutRatios.push(cut(ours) / cut(metisPart));
    timeRatios.push(oursSeconds / metisSeconds);
    process.stdout.write(
      `   seed ${seed}: gpmetis cut ${cut(metisPart)} (imbalance ${fmt(imbalance(metisPart))}, ${fmt(metisSeconds, 2)} s), multilevel cut ${cut(ours)} (imbalance ${fmt(imbalance(ours))}, ${fmt(oursSeconds, 2)} s)\n`,
    );
  }
  const rss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    `   ratios: cut median ${fmt(quantile(cutRatios, 0.5))}x, worst ${fmt(Math.max(...cutRatios))}x (target <= 1.00); time median ${fmt(quantile(timeRatios, 0.5), 2)}x, worst ${fmt(Math.max(...timeRatios), 2)}x (target <= 3); peak RSS ${fmt(rss / 1e6, 0)} MB\n`,
  );
}

// 3. Exact scale.
{
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const p = randomProblem(7000 + i, 60, 3, { images: true });
    const t = performance.now();
    const r = await SOLVERS.exact.solve(p, { seed: 1, timeLimitSeconds: 120 });
    times.push((performance.now() - t) / 1000);
    if (!r.optimal) throw new Error('60 × 3 not proven within 120 s');
  }
  process.stdout.write(
    `\n3. HiGHS proves 60 VMs × 3 clouds optimal in ${times.map((t) => fmt(t, 2)).join(', ')} s (target <= 10 s)\n`,
  );
}

/** Points in the unit square, each joined to its nearest neighbours: local structure like a real cluster. */
function geometricGraph(
  n: number,
  degree: number,
  seed: number,
): { level: Level; edges: [number, number, number][] } {
  const rng = seededRng(seed);
  const side = Math.ceil(Math.sqrt(n));
  const cell = new Map<number, number[]>();
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    x[v] = rng();
    y[v] = rng();
    const key = Math.floor((x[v] as number) * side) * side + Math.floor((y[v] as number) * side);
    cell.set(key, [...(cell.get(key) ?? []), v]);
  }
  const seen = new Set<number>();
  const edges: [number, number, number][] = [];
  for (let v = 0; v < n; v++) {
    const cx = Math.floor((x[v] as number) * side);
    const cy = Math.floor((y[v] as number) * side);
    const near: [number, number][] = [];
    for (let dx = -2; dx <= 2; dx++) {
      for (let dy = -2; dy <= 2; dy++) {
        for (const w of cell.get((cx + dx) * side + cy + dy) ?? []) {
          if (w !== v)
            near.push([
              w,
              ((x[w] as number) - (x[v] as number)) ** 2 + ((y[w] as number) - (y[v] as number)) ** 2,
            ]);
        }
      }
    }
    near.sort((a, b) => a[1] - b[1]);
    for (const [w] of near.slice(0, degree)) {
      const key = Math.min(v, w) * n + Math.max(v, w);
      if (seen.has(key)) continue;
      seen.add(key);
      edges.push([v, w, 1 + Math.floor(rng() * 10)]);
    }
  }
  const adj: [number, number][][] = Array.from({ length: n }, () => []);
  for (const [u, v, w] of edges) {
    (adj[u] as [number, number][]).push([v, w]);
    (adj[v] as [number, number][]).push([u, w]);
  }
  const xadj = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) xadj[v + 1] = (xadj[v] as number) + (adj[v] as [number, number][]).length;
  const adjncy = new Int32Array(xadj[n] as number);
  const half = new Float64Array(adjncy.length);
  for (let v = 0; v < n; v++) {
    (adj[v] as [number, number][]).forEach(([w, weight], i) => {
      adjncy[(xadj[v] as number) + i] = w;
      half[(xadj[v] as number) + i] = weight / 2; // each direction carries half: the cut counts the edge once
    });
  }
  const level: Level = {
    n,
    k: 8,
    xadj,
    adjncy,
    out: half,
    in: half,
    vcpus: new Float64Array(n),
    memoryGiB: new Float64Array(n),
    count: new Float64Array(n).fill(1),
    allowed: new Uint8Array(n * 8).fill(1),
    unary: new Float64Array(n * 8),
    anti: new Map(),
  };
  return { level, edges };
}

/** METIS graph format: header "n m 001" (edge weights), then each vertex's 1-based neighbours and weights. */
function metisText(level: Level): string {
  const lines = [`${level.n} ${(level.xadj[level.n] as number) / 2} 001`];
  for (let v = 0; v < level.n; v++) {
    const parts: number[] = [];
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++)
      parts.push((level.adjncy[i] as number) + 1, (level.out[i] as number) * 2);
    lines.push(parts.join(' '));
  }
  return `${lines.join('\n')}\n`;
}
