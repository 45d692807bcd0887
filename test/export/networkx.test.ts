// @integration: needs python3-networkx (Debian's, under /usr/bin/python3)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EDGE_ATTRIBUTES, NODE_ATTRIBUTES } from '../../src/export/attributes.js';
import { EXPORTERS } from '../../src/export/exporters.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, tempDir } from '../helpers.js';

/** What networkx reads from a file: every node and edge with its attributes, as JSON. */
const READ = `
import json, sys
import networkx as nx
path, kind = sys.argv[1], sys.argv[2]
g = nx.read_gexf(path) if kind == 'gexf' else nx.read_graphml(path)
print(json.dumps({
  'directed': g.is_directed(),
  'nodes': {n: d for n, d in g.nodes(data=True)},
  'edges': [[a, b, d] for a, b, d in g.edges(data=True)],
}))
`;

interface Read {
  directed: boolean;
  nodes: Record<string, Record<string, unknown>>;
  edges: [string, string, Record<string, unknown>][];
}

function networkx(doc: GraphDocument, format: 'gexf' | 'graphml'): Read {
  const path = join(tempDir(), `g.${format}`);
  writeFileSync(path, EXPORTERS[format](doc));
  return JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', READ, path, format], { encoding: 'utf8' }),
  ) as Read;
}

const graphs = ['cluster.json', 'flowtest_vxlan.json', 'tcpdump_geneve.json'].map((f) => ({
  name: f,
  doc: JSON.parse(readFileSync(fixture('golden', f), 'utf8')) as GraphDocument,
}));

describe('exports read by networkx (an independent reader)', () => {
  for (const format of ['gexf', 'graphml'] as const)
    for (const { name, doc } of graphs)
      it(`${format}: ${name}, every node, edge, byte weight and attribute`, () => {
        const g = networkx(doc, format);
        assert.equal(g.directed, true);
        assert.deepEqual(Object.keys(g.nodes).sort(), doc.nodes.map((n) => n.id).sort());
        for (const n of doc.nodes)
          for (const a of NODE_ATTRIBUTES) {
            const v = a.get(n);
            if (v !== undefined) assert.equal(g.nodes[n.id]?.[a.name], v, `${n.id}.${a.name}`);
          }
        assert.equal(g.edges.length, doc.edges.length);
        const byPair = new Map(g.edges.map(([a, b, d]) => [`${a}\u0000${b}`, d]));
        for (const e of doc.edges) {
          const d = byPair.get(`${e.source}\u0000${e.target}`);
          assert.ok(d !== undefined, `${e.source} -> ${e.target}`);
          // GEXF carries the bytes as the edge weight, GraphML as an attribute.
          assert.equal(format === 'gexf' ? d.weight : d.bytes, e.bytes);
          for (const a of EDGE_ATTRIBUTES.filter((x) => x.name !== 'bytes')) {
            const v = a.get(e);
            if (v !== undefined) assert.equal(d[a.name], v, `${e.source} -> ${e.target} ${a.name}`);
          }
        }
        if (format === 'gexf') {
          const colour = g.nodes[doc.nodes[0]?.id ?? '']?.viz as { color?: { r: number } } | undefined;
          assert.equal(typeof colour?.color?.r, 'number', 'the cloud colour, as viz:color r/g/b');
        }
      });
});
