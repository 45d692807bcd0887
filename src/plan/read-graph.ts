import * as v from 'valibot';
import { UserError } from '../errors.js';
import { GRAPH_SCHEMA } from '../graph/graph-model.js';
import { readText } from '../read-text.js';
import { firstIssue } from '../schema-issue.js';

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
/** The document with its edges left unchecked: they are checked one by one (see `readGraph`). */
const documentSchema = v.looseObject({
  schema: v.literal(GRAPH_SCHEMA),
  nodes: v.array(node),
  edges: v.array(v.unknown()),
  timeRange: v.optional(v.nullable(v.looseObject({ first: v.optional(v.number()), seconds: v.number() }))),
  window: v.optional(
    v.nullable(
      v.looseObject({ seconds: v.pipe(v.number(), v.gtValue(0)), first: v.number(), count: v.number() }),
    ),
  ),
  patterns: v.optional(
    v.looseObject({
      communities: v.array(
        v.looseObject({
          members: v.array(v.string()),
          pattern: v.string(),
          phases: v.optional(
            v.array(v.looseObject({ start: v.number(), end: v.number(), pattern: v.optional(v.string()) })),
          ),
        }),
      ),
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

type GraphHeader = v.InferOutput<typeof documentSchema>;
export type PlannerGraph = { [K in keyof GraphHeader as K extends 'edges' ? never : K]: GraphHeader[K] } & {
  edges: v.InferOutput<typeof edge>[];
};

const isCount = (x: unknown) => typeof x === 'number' && x >= 0;

/**
 * The common edge (no window series) checked by hand: a graph can have a million edges, and a schema
 * check per edge was most of the time `plan` spent reading one. Others go through the schema.
 */
function plainEdge(e: unknown): e is v.InferOutput<typeof edge> {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x.source === 'string' &&
    typeof x.target === 'string' &&
    isCount(x.bytes) &&
    (x.packets === undefined || isCount(x.packets)) &&
    (x.flows === undefined || typeof x.flows === 'number') &&
    (x.bytesPerSecond === undefined || isCount(x.bytesPerSecond)) &&
    x.windows === undefined
  );
}

export async function readGraph(path: string): Promise<PlannerGraph> {
  return parseGraph(await readText(path, 'graph_unreadable', 'the graph'), path);
}

/** A graph@1 document's text, checked; `path` names where it came from in errors (a file or a URL). */
export function parseGraph(text: string, path: string): PlannerGraph {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UserError(
      'graph_invalid',
      `${path} is not JSON (${(err as Error).message}); expected the output of sky-plan analyze --json`,
    );
  }
  const invalid = (issues: [v.BaseIssue<unknown>, ...v.BaseIssue<unknown>[]], prefix: PropertyKey[] = []) =>
    new UserError('graph_invalid', `invalid graph ${path}: ${firstIssue(issues, prefix)}`);
  const header = v.safeParse(documentSchema, data);
  if (!header.success) throw invalid(header.issues);
  const edges = header.output.edges.map((e, i) => {
    if (plainEdge(e)) return e;
    const checked = v.safeParse(edge, e);
    if (!checked.success) throw invalid(checked.issues, ['edges', i]);
    return checked.output;
  });
  const graph: PlannerGraph = { ...header.output, edges };
  const ids = new Set<string>();
  for (const n of graph.nodes) {
    if (ids.has(n.id))
      throw new UserError('graph_invalid', `invalid graph ${path}: node "${n.id}" appears twice`);
    ids.add(n.id);
  }
  graph.edges.forEach((e, i) => {
    for (const end of [e.source, e.target]) {
      if (!ids.has(end))
        throw new UserError(
          'graph_invalid',
          `invalid graph ${path}: edges[${i}] names node "${end}", which is not in nodes`,
        );
    }
  });
  return graph;
}
