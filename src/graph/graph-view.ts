import type { GraphEdge, GraphNode } from './graph-model.js';

/** Every field optional, and possibly explicitly undefined (as in a validated hand-written graph). */
type Lenient<T> = { [K in keyof T]?: T[K] | undefined };

/**
 * The nodes and edges of a graph@1 document as its readers see them (patterns, exporters, the report),
 * from analyze or from a file, where a hand-written graph may leave out everything but ids and edge bytes.
 */
export interface GraphView {
  nodes: (Lenient<Omit<GraphNode, 'id'>> & { id: string })[];
  edges: (Lenient<Omit<GraphEdge, 'source' | 'target' | 'bytes'>> & {
    source: string;
    target: string;
    bytes: number;
  })[];
}
