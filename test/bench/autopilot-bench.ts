import { applyEvents, parseEvents } from '../../src/autopilot/events.js';
import { decide, POLICY_DEFAULTS } from '../../src/autopilot/policy.js';
import { windowGraph } from '../../src/autopilot/traffic-window.js';
import type { Inventory } from '../../src/inventory/schema.js';
import type { PlannerGraph } from '../../src/plan/read-graph.js';
import { GRAPH_FAMILIES, type WeightedGraph } from './graph-families.js';

/**
 * `npm run bench:autopilot`: decision latency, from an event to the plan the executor starts on, at
 * 1,000 and 100,000 VMs over 4 clouds (VMs dealt round-robin, so most traffic crosses clouds), on two
 * graph families (planted communities, geometric). A round is what autopilot does on an event: the
 * window statistic (p95 of 12 five-minute windows) and the longer window's mean, the events applied,
 * the plan, its check on the longer window. Two events: a spot termination notice (emergency plan)
 * and a price drop (ordinary re-plan).
 */
const CLOUDS = ['a', 'b', 'c', 'd'];
const W = 300;
const WINDOWS = 12;

function liveGraph(g: WeightedGraph): PlannerGraph {
  const nodes = Array.from({ length: g.n }, (_, v) => ({
    id: `v${v}`,
    kind: 'vm' as const,
    cloud: CLOUDS[v % CLOUDS.length] as string,
    vcpus: 2,
    memoryGiB: 4,
  }));
  const edges = g.edges.map(([u, v, w], i) => {
    // Each pair speaks in most windows, not all: the p95 and the mean differ.
    const series: [number, number, number][] = [];
    for (let k = 0; k < WINDOWS; k++) if ((i + k) % 5 !== 0) series.push([k * W, w * 1e6, w * 1e3]);
    return {
      source: `v${u}`,
      target: `v${v}`,
      bytes: series.length * w * 1e6,
      packets: series.length * w * 1e3,
      windows: { series, peakBytesPerSecond: 0, p95BytesPerSecond: 0 },
    };
  });
  return {
    schema: 'sky-plan/graph@1',
    nodes,
    edges,
    window: { seconds: W, first: 0, count: WINDOWS },
    timeRange: { first: 0, seconds: W * WINDOWS },
  } as PlannerGraph;
}

const spec: Inventory = {
  clouds: CLOUDS.map((name, i) => ({
    name,
    capacity: { vcpus: 10_000_000 },
    compute: { vcpuHour: 0.04 + 0.01 * i },
    egress: { default: 0.09 },
  })),
  hosts: [],
  vms: [],
  images: [],
} as unknown as Inventory;

const now = W * WINDOWS;
process.stdout.write('decision latency, event to plan (one round), median of 3:\n');
for (const n of [1_000, 100_000])
  for (const family of ['communities', 'geometric'] as const) {
    const g = liveGraph(GRAPH_FAMILIES[family](n, 1));
    const vms = g.nodes.map((x) => ({ name: x.id, cloud: x.cloud as string, disks: [], nics: [] }));
    const base = { ...spec, vms } as Inventory;
    for (const [label, text] of [
      [
        'spot termination notice',
        `{"type":"terminate","time":${now - 10},"vm":"v7","deadline":${now + 120}}`,
      ],
      ['price drop', `{"type":"price","time":${now - 10},"cloud":"d","compute":{"vcpuHour":0.01}}`],
    ] as const) {
      const times: number[] = [];
      let summary = '';
      for (let run = 0; run < 3; run++) {
        const t = performance.now();
        const { spec: s, notices } = applyEvents(
          base,
          parseEvents(text, 'bench'),
          now,
          (vm) => vms.find((x) => x.name === vm)?.cloud,
        );
        const d = await decide(
          {
            recent: windowGraph(g, now, W * WINDOWS, 'p95').graph,
            baseline: windowGraph(g, now, W * WINDOWS, 'mean').graph,
            spec: s,
            notices,
            history: [],
            now,
            trigger: 'event',
          },
          POLICY_DEFAULTS,
        );
        times.push((performance.now() - t) / 1000);
        summary = `${d.action}, ${d.moves.length} moves`;
      }
      const median = [...times].sort((x, y) => x - y)[1] as number;
      const target = n === 1_000 ? 2 : 30;
      process.stdout.write(
        `  ${n} VMs, ${g.edges.length} edges (${family}), ${label}: ${median.toFixed(2)} s (${summary}); target < ${target} s: ${median < target ? 'met' : 'not met'}\n`,
      );
    }
  }
process.exit(0);
