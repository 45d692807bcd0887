import type { GraphDocument } from '../graph/graph-model.js';
import type { PlanView } from '../plan/read-plan.js';

export interface VerifyRow {
  from: string;
  to: string;
  /** What the plan expects between VMs once it is carried out. */
  predicted: number;
  /** What the capture shows between the same VMs, placed where the plan puts them. */
  measured: number;
  /** Measured and predicted differ by more than the tolerance (and the pair carries enough to judge). */
  differs: boolean;
}

export interface Verification {
  rows: VerifyRow[];
  predicted: number;
  measured: number;
  /** VMs of the plan the capture never saw. */
  unseen: string[];
  tolerance: number;
  /** The capture bears the plan out: every pair and the total within the tolerance, every VM seen. */
  holds: boolean;
}

/**
 * A pair is judged only when it carries at least this share of the larger of the predicted and measured
 * totals: a few bytes where none were predicted are noise, not a pattern that changed.
 */
const JUDGED_SHARE = 0.01;

/** |measured - predicted| beyond `tolerance` times the larger of the two. */
const apart = (predicted: number, measured: number, tolerance: number) =>
  Math.abs(measured - predicted) > tolerance * Math.max(predicted, measured);

/**
 * The closed loop: cross-cloud traffic between the plan's VMs in a new capture, placed as the plan
 * says, against the plan's prediction (bytes/s per cloud pair). A large gap means the pattern the
 * plan was made for no longer holds.
 */
export function verifyPlan(
  plan: Pick<PlanView, 'placement' | 'after'>,
  graph: GraphDocument,
  tolerance: number,
): Verification {
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
  const keys = [...new Set([...predicted.keys(), ...measured.keys()])];
  const total = (m: Map<string, number>) => [...m.values()].reduce((s, x) => s + x, 0);
  const [predictedTotal, measuredTotal] = [total(predicted), total(measured)];
  const floor = JUDGED_SHARE * Math.max(predictedTotal, measuredTotal);
  const rows = keys.map((key) => {
    const [from, to] = key.split('\u0000') as [string, string];
    const [p, m] = [predicted.get(key) ?? 0, measured.get(key) ?? 0];
    return {
      from,
      to,
      predicted: p,
      measured: m,
      differs: Math.max(p, m) >= floor && apart(p, m, tolerance),
    };
  });
  rows.sort((x, y) => Math.max(y.predicted, y.measured) - Math.max(x.predicted, x.measured));
  const seen = new Set(graph.nodes.map((n) => n.id));
  const unseen = Object.keys(plan.placement)
    .filter((vm) => !seen.has(vm))
    .sort();
  return {
    rows,
    predicted: predictedTotal,
    measured: measuredTotal,
    unseen,
    tolerance,
    holds:
      unseen.length === 0 && !rows.some((r) => r.differs) && !apart(predictedTotal, measuredTotal, tolerance),
  };
}
