import type { PlanProblem } from '../../planner/problem.js';
import { type PlanResult, type SolverName, solve } from '../../planner/solve.js';
import { InfeasibleError } from '../../planner/solver.js';
import { UserError } from '../errors.js';
import type { GraphDocument } from '../graph/graph-model.js';
import type { Inventory } from '../inventory/schema.js';
import { buildProblem, type PlanOptions } from './build-problem.js';
import { allToAllGroups } from './pattern-affinity.js';
import { placeOnHosts } from './place-on-hosts.js';
import { type PlanDocument, planDocument } from './plan-document.js';
import type { PlannerGraph } from './read-graph.js';

export interface ClusterPlanOptions extends PlanOptions {
  solver: SolverName;
  seed: number;
  timeLimitSeconds: number;
  /** Told each solver phase as it begins, with the best cost so far. */
  onProgress?: ((phase: string, bestCost?: number) => void) | undefined;
  /** Said of the input before planning (what was measured of it), first in the plan's notes. */
  notes?: string[];
}

/**
 * The plan of a cluster (what `sky-plan plan` writes): the placement problem from the graph and the
 * clouds spec, solved with all-to-all groups kept in one cloud unless that makes the plan impossible
 * (then solved again without them, and said so). Throws a UserError naming the conflicting constraints
 * when no placement is feasible.
 */
export async function planCluster(
  input: PlannerGraph | GraphDocument,
  spec: Inventory,
  o: ClusterPlanOptions,
): Promise<PlanDocument> {
  // A document from graphDocument() has every field readGraph checks; only its types are closed.
  const graph = input as PlannerGraph;
  const { problem, notes } = buildProblem(graph, spec, o);
  notes.unshift(...(o.notes ?? []));
  const groups = allToAllGroups(graph, problem);
  const together = { ...problem, affinity: [...problem.affinity, ...groups.map((g) => g.members)] };
  let result = await attempt(together, o);
  if (!(result instanceof InfeasibleError)) {
    for (const g of groups) notes.push(`all-to-all group [${g.names.join(', ')}] kept in one cloud`);
  } else if (groups.length > 0) {
    result = await attempt(problem, o);
    notes.push('all-to-all groups may be split: kept together, they do not fit');
  }
  if (result instanceof InfeasibleError) throw new UserError('plan_infeasible', result.message);
  const hosts = placeOnHosts(problem, result.placement, spec);
  notes.push(...hosts.notes);
  return planDocument(problem, result, o.seed, notes, hosts);
}

/** The plan, or the error naming the conflicting constraints when no placement is feasible. */
async function attempt(p: PlanProblem, o: ClusterPlanOptions): Promise<PlanResult | InfeasibleError> {
  try {
    return await solve(p, o.solver, {
      seed: o.seed,
      timeLimitSeconds: o.timeLimitSeconds,
      onProgress: o.onProgress,
    });
  } catch (err) {
    if (err instanceof InfeasibleError) return err;
    throw err;
  }
}
