import type { GraphEdge, GraphNode } from '../graph/graph-model.js';

/** Every field optional, and possibly explicitly undefined (as in a validated hand-written graph). */
type Lenient<T> = { [K in keyof T]?: T[K] | undefined };

/**
 * What the exporters and the report read: the nodes and edges of a graph@1 document, from analyze or
 * from a file (where a hand-written graph may leave out everything but ids and edge bytes).
 */
export interface ExportGraph {
  nodes: (Lenient<Omit<GraphNode, 'id'>> & { id: string })[];
  edges: (Lenient<Omit<GraphEdge, 'source' | 'target' | 'bytes'>> & {
    source: string;
    target: string;
    bytes: number;
  })[];
}
