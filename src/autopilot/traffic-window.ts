import type { PlannerGraph } from '../plan/read-graph.js';

/** How a sliding window's per-window rates become one rate per edge. */
export type WindowStat = 'mean' | 'p95' | 'peak';

export const WINDOW_STATS: readonly WindowStat[] = ['mean', 'p95', 'peak'];

/**
 * The graph as the last `seconds` before `now` have it: each edge's rate is `stat` of its per-window
 * rates over every window of that span, idle ones counted as 0 (a pair that spoke once in an hour has a
 * p95 of 0). Edges of a graph without windows keep their mean rate: the caller is told so by `windowed`.
 */
export function windowGraph(
  graph: PlannerGraph,
  now: number,
  seconds: number,
  stat: WindowStat,
): { graph: PlannerGraph; windowed: boolean } {
  const w = graph.window?.seconds;
  if (w === undefined) return { graph, windowed: false };
  const from = now - seconds;
  const count = Math.max(1, Math.round(seconds / w));
  const edges = graph.edges.map((e) => {
    const rates: number[] = [];
    let bytes = 0;
    for (const [start, b] of e.windows?.series ?? [])
      if (start >= from && start < now) {
        rates.push(b / w);
        bytes += b;
      }
    return { ...e, bytes, bytesPerSecond: rateOf(rates, count, stat) };
  });
  return { graph: { ...graph, edges, timeRange: { first: from, seconds } }, windowed: true };
}

/** `stat` of `rates` padded with zeros to `count` windows. */
function rateOf(rates: number[], count: number, stat: WindowStat): number {
  if (rates.length === 0) return 0;
  if (stat === 'peak') return Math.max(...rates);
  if (stat === 'mean') return rates.reduce((s, r) => s + r, 0) / count;
  const sorted = [...rates, ...new Array<number>(Math.max(0, count - rates.length)).fill(0)].sort(
    (a, b) => a - b,
  );
  // The nearest-rank p95: the smallest rate at or above 95% of the windows.
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] as number;
}
