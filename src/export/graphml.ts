import type { GraphView } from '../graph/graph-view.js';
import { EDGE_ATTRIBUTES, NODE_ATTRIBUTES } from './attributes.js';

/** GraphML (http://graphml.graphdrawing.org/specification.html), keys declared for every attribute used. */
export function graphml(doc: GraphView): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
  ];
  for (const { name, type } of NODE_ATTRIBUTES)
    out.push(`  <key id="n_${name}" for="node" attr.name="${name}" attr.type="${type}"/>`);
  for (const { name, type } of EDGE_ATTRIBUTES)
    out.push(`  <key id="e_${name}" for="edge" attr.name="${name}" attr.type="${type}"/>`);
  out.push('  <graph id="sky-plan" edgedefault="directed">');
  for (const n of doc.nodes) {
    out.push(`    <node id="${xml(n.id)}">`);
    for (const { name, get } of NODE_ATTRIBUTES) {
      const v = get(n);
      if (v !== undefined) out.push(`      <data key="n_${name}">${xml(String(v))}</data>`);
    }
    out.push('    </node>');
  }
  doc.edges.forEach((e, i) => {
    out.push(`    <edge id="e${i}" source="${xml(e.source)}" target="${xml(e.target)}">`);
    for (const { name, get } of EDGE_ATTRIBUTES) {
      const v = get(e);
      if (v !== undefined) out.push(`      <data key="e_${name}">${xml(String(v))}</data>`);
    }
    out.push('    </edge>');
  });
  out.push('  </graph>', '</graphml>');
  return `${out.join('\n')}\n`;
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
