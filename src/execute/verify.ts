import type { GraphDocument } from '../graph/graph-model.js';
import type { PlanView } from '../plan/read-plan.js';

export interface VerifyRow {
  from: string;
  to: string;
  /** What the plan expects between VMs once it is carried out. */
  predicted: number;
  /** What the capture shows between the same VMs, placed where the plan puts them. */
  measured: number;
}

export interface Verification {
  rows: VerifyRow[];
  predicted: number;
  measured: number;
  /** VMs of the plan the capture never saw. */
  unseen: string[];
}

/**
 * The closed loop: cross-cloud traffic between the plan's VMs in a new capture, placed as the plan
 * says, against the plan's prediction (bytes/s per cloud pair). A large gap means the pattern the
 * plan was made for no longer holds.
 */
export function verifyPlan(plan: Pick<PlanView, 'placement' | 'after'>, graph: GraphDocument): Verification {
  const seconds = graph.timeRange?.seconds ?? 0;
  const measured = new Map<string, number>();
  for (const e of graph.edges) {
    const a = plan.placement[e.source];
    const b = plan.placement[e.target];
    if (a === undefined || b === undefined || a === b) continue;
    const key = `${a}\u0000${b}`;
    measured.set(key, (measured.get(key) ?? 0) + (seconds > 0 ? e.bytes / seconds : 0));
  }
  const predicted = new Map(plan.after.crossCloud.map((p) => [`${p.from}\u0000${p.to}`, p.bytesPerSecond]));
  const rows = [...new Set([...predicted.keys(), ...measured.keys()])].map((key) => {
    const [from, to] = key.split('\u0000') as [string, string];
    return { from, to, predicted: predicted.get(key) ?? 0, measured: measured.get(key) ?? 0 };
  });
  rows.sort((x, y) => Math.max(y.predicted, y.measured) - Math.max(x.predicted, x.measured));
  const seen = new Set(graph.nodes.map((n) => n.id));
  return {
    rows,
    predicted: rows.reduce((s, r) => s + r.predicted, 0),
    measured: rows.reduce((s, r) => s + r.measured, 0),
    unseen: Object.keys(plan.placement)
      .filter((vm) => !seen.has(vm))
      .sort(),
  };
}
