import type { GraphView } from '../../src/graph/graph-view.js';
import { classifyPatterns } from '../../src/graph/patterns.js';

/**
 * `npm run bench:phases`: what phases cost per window, on top of naming the communities of the whole
 * capture. Families: a ring (sparse, one pattern) and random pairs (no pattern, no locality), at 1,000
 * and 100,000 VMs, 10 s windows with 20% noise per pair.
 */
function family(name: string, n: number, windows: number, pairs: (n: number) => [number, number][]) {
  const edges: GraphView['edges'] = [];
  for (const [a, b] of pairs(n)) {
    const series = Array.from({ length: windows }, (_, k): [number, number, number] => [
      k * 10,
      1000 * (1 + 0.2 * (2 * Math.random() - 1)),
      1,
    ]);
    const windowsOf = { series, peakBytesPerSecond: 0, p95BytesPerSecond: 0 };
    edges.push({
      source: `v${a}`,
      target: `v${b}`,
      bytes: series.reduce((s, x) => s + x[1], 0),
      windows: windowsOf,
    });
  }
  const graph: GraphView = {
    nodes: Array.from({ length: n }, (_, i) => ({ id: `v${i}`, kind: 'vm' })),
    edges,
  };
  const all = { of: new Map(graph.nodes.map((x) => [x.id, 0])), count: 1, modularity: 0 };
  let t = performance.now();
  classifyPatterns(graph, all);
  const whole = performance.now() - t;
  t = performance.now();
  const report = classifyPatterns(graph, all, { first: 0, seconds: 10 });
  const phased = performance.now() - t;
  const phases = report.communities[0]?.phases.length ?? 0;
  process.stdout.write(
    `  ${name.padEnd(8)} ${String(n).padStart(7)} VMs ${String(edges.length).padStart(7)} edges ${windows} windows: ` +
      `${((phased - whole) / windows).toFixed(1)} ms per window (${(phased / whole).toFixed(1)}x naming the whole capture), ` +
      `${phases} phase${phases === 1 ? '' : 's'}\n`,
  );
}

const ring = (n: number): [number, number][] =>
  Array.from({ length: n }, (_, i) => [
    [i, (i + 1) % n],
    [(i + 1) % n, i],
  ]).flat() as [number, number][];
const random = (n: number): [number, number][] =>
  Array.from({ length: 2 * n }, () => [Math.floor(Math.random() * n), Math.floor(Math.random() * n)]);

process.stdout.write('phases: cost per window (one community; 20% noise per pair and window)\n');
family('ring', 1000, 60, ring);
family('random', 1000, 60, random);
family('ring', 100_000, 10, ring);
family('random', 100_000, 10, random);
