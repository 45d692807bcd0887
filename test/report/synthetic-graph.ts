import { seededRng } from '../../planner/rng.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import type { Inventory } from '../../src/inventory/schema.js';
import { PLAN_DEFAULTS } from '../../src/plan/build-problem.js';
import { planCluster } from '../../src/plan/plan-cluster.js';
import type { PlanDocument } from '../../src/plan/plan-document.js';
import type { ReportGraph } from '../../src/report/report-data.js';

const CLOUDS = ['aws-us', 'gcp-eu', 'azure-us', 'ovh-eu'];

/**
 * A cluster of `vms` VMs over 4 clouds in groups of 20 that talk mostly among themselves (a ring and a
 * few random pairs each), with some traffic between groups: the shape of a real multi-tenant cluster.
 */
export function syntheticGraph(vms: number, seed = 1): ReportGraph {
  const rng = seededRng(seed);
  const nodes = Array.from({ length: vms }, (_, i) => ({
    id: `vm-${String(i).padStart(5, '0')}`,
    kind: 'vm' as const,
    cloud: CLOUDS[Math.floor((i / vms) * CLOUDS.length + rng() * 0.3) % CLOUDS.length] as string,
  }));
  const edges = new Map<string, { source: string; target: string; bytes: number; packets: number }>();
  const add = (a: number, b: number, bytes: number) => {
    if (a === b || a >= vms || b >= vms) return;
    const source = (nodes[a] as { id: string }).id;
    const target = (nodes[b] as { id: string }).id;
    const key = `${source}>${target}`;
    const e = edges.get(key) ?? { source, target, bytes: 0, packets: 0 };
    e.bytes += bytes;
    e.packets += Math.ceil(bytes / 1400);
    edges.set(key, e);
  };
  for (let g = 0; g < vms; g += 20) {
    for (let i = 0; i < 20; i++) {
      add(g + i, g + ((i + 1) % 20), Math.floor(1e6 + rng() * 1e7));
      add(g + ((i + 1) % 20), g + i, Math.floor(1e6 + rng() * 1e7));
      add(g + i, g + Math.floor(rng() * 20), Math.floor(rng() * 1e6));
    }
    add(g, Math.floor(rng() * vms), Math.floor(rng() * 1e5));
  }
  return { nodes, edges: [...edges.values()] };
}

/** The synthetic clusters' clouds, one of them cheaper, so sky-plan's own plan (multilevel) moves VMs. */
export function syntheticPlan(graph: ReportGraph): Promise<PlanDocument> {
  const spec = {
    clouds: CLOUDS.map((name, i) => ({
      name,
      compute: { vmHour: i === 3 ? 0.02 : 0.05 },
      egress: { default: 0.09 },
    })),
    hosts: [],
    vms: [],
    images: [],
  } as unknown as Inventory;
  return planCluster(graph as GraphDocument, spec, {
    ...PLAN_DEFAULTS,
    solver: 'multilevel',
    seed: 1,
    timeLimitSeconds: 30,
  });
}
