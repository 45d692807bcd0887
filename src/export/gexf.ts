import { DirectedGraph } from 'graphology';
import { write } from 'graphology-gexf';
import { cloudPalette, NO_CLOUD_COLOUR } from '../graph/cloud-palette.js';
import type { GraphView } from '../graph/graph-view.js';
import { attributeValues, EDGE_ATTRIBUTES, NODE_ATTRIBUTES } from './attributes.js';

/**
 * GEXF 1.2 (https://gexf.net), written by graphology-gexf: Gephi and networkx read the edge weight
 * (bytes), every attribute, and a colour per cloud. Not 1.3: networkx reads up to 1.2, and 1.3's hex
 * colours only Gephi does.
 */
export function gexf(graph: GraphView): string {
  const g = new DirectedGraph();
  const palette = cloudPalette(graph.nodes.flatMap((n) => (n.cloud === undefined ? [] : [n.cloud])));
  for (const n of graph.nodes) {
    g.addNode(n.id, {
      label: n.id,
      color: (n.cloud === undefined ? undefined : palette.get(n.cloud)) ?? NO_CLOUD_COLOUR,
      ...attributeValues(NODE_ATTRIBUTES, n),
    });
  }
  for (const e of graph.edges) {
    const { bytes, ...attributes } = attributeValues(EDGE_ATTRIBUTES, e);
    g.addEdge(e.source, e.target, { weight: bytes, ...attributes });
  }
  // graphology-gexf 0.13 names GEXF 1.2's viz namespace wrongly (http:///www.gexf.net/1.1draft/viz),
  // which readers that go by namespace (networkx) skip: the colours would be lost.
  return write(g, { version: '1.2' }).replace(
    'xmlns:viz="http:///www.gexf.net/1.1draft/viz"',
    `xmlns:viz="${VIZ_NAMESPACE}"`,
  );
}

const VIZ_NAMESPACE = 'http://www.gexf.net/1.2draft/viz';
