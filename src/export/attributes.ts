import type { GraphView } from '../graph/graph-view.js';

type Node = GraphView['nodes'][number];
type Edge = GraphView['edges'][number];

/** An attribute as GraphML declares it: counts are longs (bytes pass 2^31), rates and sizes doubles. */
export interface Attribute<T> {
  name: string;
  type: 'string' | 'long' | 'double';
  get: (x: T) => string | number | undefined;
}

/**
 * Every scalar attribute of a graph@1 node and edge, in the exports that carry attributes (GraphML,
 * GEXF): a nested field flattened (moved.to is movedTo), a window series left to the JSON.
 */
export const NODE_ATTRIBUTES: Attribute<Node>[] = [
  { name: 'kind', type: 'string', get: (n) => n.kind },
  { name: 'cloud', type: 'string', get: (n) => n.cloud },
  { name: 'host', type: 'string', get: (n) => n.host },
  { name: 'vcpus', type: 'double', get: (n) => n.vcpus },
  { name: 'memoryGiB', type: 'double', get: (n) => n.memoryGiB },
  { name: 'sentBytes', type: 'long', get: (n) => n.sentBytes },
  { name: 'sentPackets', type: 'long', get: (n) => n.sentPackets },
  { name: 'receivedBytes', type: 'long', get: (n) => n.receivedBytes },
  { name: 'receivedPackets', type: 'long', get: (n) => n.receivedPackets },
  { name: 'broadcastBytes', type: 'long', get: (n) => n.broadcastBytes },
  { name: 'broadcastPackets', type: 'long', get: (n) => n.broadcastPackets },
  { name: 'multicastBytes', type: 'long', get: (n) => n.multicastBytes },
  { name: 'multicastPackets', type: 'long', get: (n) => n.multicastPackets },
  { name: 'movedTime', type: 'double', get: (n) => n.moved?.time },
  { name: 'movedFrom', type: 'string', get: (n) => n.moved?.from },
  { name: 'movedTo', type: 'string', get: (n) => n.moved?.to },
];

export const EDGE_ATTRIBUTES: Attribute<Edge>[] = [
  { name: 'bytes', type: 'long', get: (e) => e.bytes },
  { name: 'packets', type: 'long', get: (e) => e.packets },
  { name: 'flows', type: 'long', get: (e) => e.flows },
  { name: 'bytesPerSecond', type: 'double', get: (e) => e.bytesPerSecond },
  { name: 'peakBytesPerSecond', type: 'double', get: (e) => e.windows?.peakBytesPerSecond },
  { name: 'p95BytesPerSecond', type: 'double', get: (e) => e.windows?.p95BytesPerSecond },
];

/** The attributes an element has, by name. */
export function attributeValues<T>(attributes: Attribute<T>[], x: T): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const a of attributes) {
    const v = a.get(x);
    if (v !== undefined) out[a.name] = v;
  }
  return out;
}
