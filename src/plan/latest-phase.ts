import { UserError } from '../errors.js';
import type { PlannerGraph } from './read-graph.js';

/**
 * The graph as its latest phase has it (`plan --phase latest`): from the most recent phase boundary of
 * any community to the end of the capture, each edge's bytes and mean rate in that interval, and each
 * community named by its latest phase's pattern. Traffic that changed shape is planned for as it is now.
 */
export function latestPhase(graph: PlannerGraph): { graph: PlannerGraph; note: string } {
  const seconds = graph.window?.seconds;
  const phases = (graph.patterns?.communities ?? []).flatMap((c) => c.phases ?? []);
  if (seconds === undefined || phases.length === 0)
    throw new UserError(
      'no_phases',
      '--phase latest needs phases: analyze (or collect) the traffic with --window, then plan on that graph',
    );
  const from = Math.max(...phases.map((p) => p.start));
  let end = from;
  for (const e of graph.edges)
    for (const [start] of e.windows?.series ?? []) if (start >= from) end = Math.max(end, start + seconds);
  const span = Math.max(end - from, seconds);
  const edges = graph.edges.map((e) => {
    const bytes = (e.windows?.series ?? []).reduce((sum, [start, b]) => (start >= from ? sum + b : sum), 0);
    return { ...e, bytes, bytesPerSecond: bytes / span };
  });
  const communities = (graph.patterns?.communities ?? []).map((c) => ({
    ...c,
    pattern: c.phases?.at(-1)?.pattern ?? c.pattern,
  }));
  const origin = graph.window?.first ?? 0;
  return {
    graph: {
      ...graph,
      edges,
      timeRange: { first: from, seconds: span },
      ...(graph.patterns === undefined ? {} : { patterns: { ...graph.patterns, communities } }),
    },
    note: `planned on the latest phase: ${(from - origin).toFixed(0)}-${(from - origin + span).toFixed(0)} s of the capture (--phase latest), not the whole capture`,
  };
}
