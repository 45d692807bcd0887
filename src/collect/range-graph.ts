import type { WindowStat } from '../autopilot/traffic-window.js';
import { graphDocument } from '../graph/graph-document.js';
import type { GraphDocument } from '../graph/graph-model.js';
import type { TimeRange, WindowHistory } from '../store/window-store.js';
import { Aggregator, type AggregatorOptions, RefusedWindow } from './aggregator.js';

/**
 * The graph@1 document of a time range of stored windows: the windows go through the aggregator in the
 * order they were sent, so the numbers are those `collect` produced from the same windows. The
 * aggregator's clock follows the windows' own time, so collectors that went quiet in the range stop
 * holding the others back, as they did live, and memory stays that of the graph, not of the range.
 */
export async function rangeGraph(
  history: WindowHistory,
  range: TimeRange,
  options: Omit<AggregatorOptions, 'now'>,
  stat: WindowStat,
  warn: (text: string) => void,
): Promise<{ document: GraphDocument; windows: number }> {
  let clockMs = range.since * 1000;
  const aggregator = new Aggregator({ ...options, now: () => clockMs });
  let windows = 0;
  for await (const doc of history.windows(range)) {
    clockMs = Math.max(clockMs, (doc.window.index + 1) * doc.window.seconds * 1000);
    try {
      if (aggregator.addWindow(doc)) windows++;
    } catch (err) {
      if (!(err instanceof RefusedWindow)) throw err;
      warn(`window ${doc.id} not counted: ${err.message}`);
    }
  }
  aggregator.settleAll();
  return { document: withRateStat(graphDocument(aggregator.analysis()), stat), windows };
}

/** Each edge's rate (what `plan` weighs) as `stat` of its per-window rates over the range's windows. */
function withRateStat(doc: GraphDocument, stat: WindowStat): GraphDocument {
  if (stat === 'mean') return doc;
  const edges = doc.edges.map((e) =>
    e.windows === undefined
      ? e
      : {
          ...e,
          bytesPerSecond: stat === 'p95' ? e.windows.p95BytesPerSecond : e.windows.peakBytesPerSecond,
        },
  );
  return { ...doc, edges };
}
