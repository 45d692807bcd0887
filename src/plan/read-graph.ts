import { readFile } from 'node:fs/promises';
import * as v from 'valibot';
import { UserError } from '../errors.js';
import { GRAPH_SCHEMA } from '../graph/graph-model.js';
import { formatPath } from '../inventory/load-inventory.js';

/**
 * The parts of a sky-plan/graph@1 document the planner, the exports and the report read. `analyze` writes
 * more; a graph written by hand or another tool needs only ids and edge bytes (extra fields are kept).
 */
const node = v.looseObject({
  id: v.pipe(v.string(), v.minLength(1)),
  kind: v.optional(v.picklist(['vm', 'host', 'unknown', 'external'])),
  cloud: v.optional(v.string()),
  vcpus: v.optional(v.pipe(v.number(), v.minValue(0))),
  memoryGiB: v.optional(v.pipe(v.number(), v.minValue(0))),
  host: v.optional(v.string()),
  sentBytes: v.optional(v.number()),
  receivedBytes: v.optional(v.number()),
});
const edge = v.looseObject({
  source: v.string(),
  target: v.string(),
  bytes: v.pipe(v.number(), v.minValue(0)),
  packets: v.optional(v.pipe(v.number(), v.minValue(0))),
  flows: v.optional(v.number()),
  bytesPerSecond: v.optional(v.pipe(v.number(), v.minValue(0))),
  windows: v.optional(
    v.looseObject({
      series: v.array(v.tuple([v.number(), v.number(), v.number()])),
      peakBytesPerSecond: v.number(),
      p95BytesPerSecond: v.number(),
    }),
  ),
});
const graphSchema = v.looseObject({
  schema: v.literal(GRAPH_SCHEMA),
  nodes: v.array(node),
  edges: v.array(edge),
  timeRange: v.optional(v.nullable(v.looseObject({ first: v.optional(v.number()), seconds: v.number() }))),
  window: v.optional(
    v.nullable(
      v.looseObject({ seconds: v.pipe(v.number(), v.gtValue(0)), first: v.number(), count: v.number() }),
    ),
  ),
  patterns: v.optional(
    v.looseObject({
      communities: v.array(v.looseObject({ members: v.array(v.string()), pattern: v.string() })),
    }),
  ),
  summary: v.optional(
    v.looseObject({
      cloudPairs: v.optional(
        v.array(
          v.looseObject({
            from: v.string(),
            to: v.string(),
            bytes: v.number(),
            packets: v.number(),
            egressCost: v.optional(v.number()),
          }),
        ),
      ),
    }),
  ),
});

export type PlannerGraph = v.InferOutput<typeof graphSchema>;

export async function readGraph(path: string): Promise<PlannerGraph> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError('graph_unreadable', `cannot read the graph ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      'graph_invalid',
      `${path} is not JSON (${(err as Error).message}); expected the output of sky-plan analyze --json`,
    );
  }
  const parsed = v.safeParse(graphSchema, data);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const at = formatPath((issue.path ?? []).map((p) => p.key as PropertyKey));
    throw new UserError('graph_invalid', `invalid graph ${path}: ${at}: ${issue.message}`);
  }
  const ids = new Set<string>();
  for (const n of parsed.output.nodes) {
    if (ids.has(n.id))
      throw new UserError('graph_invalid', `invalid graph ${path}: node "${n.id}" appears twice`);
    ids.add(n.id);
  }
  parsed.output.edges.forEach((e, i) => {
    for (const end of [e.source, e.target]) {
      if (!ids.has(end))
        throw new UserError(
          'graph_invalid',
          `invalid graph ${path}: edges[${i}] names node "${end}", which is not in nodes`,
        );
    }
  });
  return parsed.output;
}
