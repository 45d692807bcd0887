import { DirectedGraph } from 'graphology';
import { write } from 'graphology-gexf';
import { cloudPalette, NO_CLOUD_COLOUR } from '../graph/cloud-palette.js';
import type { GraphView } from '../graph/graph-view.js';

/**
 * GEXF 1.3 (https://gexf.net), written by graphology-gexf: Gephi reads the edge weight (bytes), the
 * attributes, and a colour per cloud.
 */
export function gexf(graph: GraphView): string {
  const g = new DirectedGraph();
  const palette = cloudPalette(graph.nodes.flatMap((n) => (n.cloud === undefined ? [] : [n.cloud])));
  for (const n of graph.nodes) {
    g.addNode(n.id, {
      label: n.id,
      color: (n.cloud === undefined ? undefined : palette.get(n.cloud)) ?? NO_CLOUD_COLOUR,
      ...defined({
        kind: n.kind,
        cloud: n.cloud,
        host: n.host,
        vcpus: n.vcpus,
        memoryGiB: n.memoryGiB,
        sentBytes: n.sentBytes,
        receivedBytes: n.receivedBytes,
      }),
    });
  }
  for (const e of graph.edges) {
    g.addEdge(e.source, e.target, {
      weight: e.bytes,
      ...defined({ packets: e.packets, flows: e.flows, bytesPerSecond: e.bytesPerSecond }),
    });
  }
  return write(g, { version: '1.3' });
}

function defined(attributes: Record<string, string | number | undefined>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)) as Record<
    string,
    string | number
  >;
}
