import type { PlanProblem } from '../../planner/problem.js';
import type { PlannerGraph } from './read-graph.js';

/**
 * The all-to-all communities analyze found, as groups of the problem's VM indices: splitting one puts
 * a share of every member's traffic on the WAN, so the planner keeps each in one cloud unless capacity
 * (or another constraint) forces it apart.
 */
export function allToAllGroups(
  graph: PlannerGraph,
  problem: PlanProblem,
): { names: string[]; members: number[] }[] {
  const index = new Map(problem.vms.map((vm, i) => [vm.name, i]));
  return (graph.patterns?.communities ?? [])
    .filter((c) => c.pattern === 'all-to-all')
    .map((c) => {
      const names = c.members.filter((m) => index.has(m));
      return { names, members: names.map((m) => index.get(m) as number) };
    })
    .filter((g) => g.members.length >= 2);
}
