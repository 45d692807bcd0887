// @integration: needs Graphviz (dot)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DOMParser } from '@xmldom/xmldom';
import { DirectedGraph } from 'graphology';
import { parse as parseGexf } from 'graphology-gexf';
import { EXPORTERS } from '../../src/export/exporters.js';
import { MATRIX_MAX_NODES } from '../../src/export/matrix-csv.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import type { GraphView } from '../../src/graph/graph-view.js';
import { fixture, runCli, tempDir } from '../helpers.js';

const cluster = JSON.parse(readFileSync(fixture('golden', 'cluster.json'), 'utf8')) as GraphDocument;
const totalBytes = cluster.edges.reduce((s, e) => s + e.bytes, 0);

/** Names that need escaping in every format. */
const awkward: GraphView = {
  nodes: [
    { id: 'a "quoted" \\ vm', cloud: 'x<y>', kind: 'vm' },
    { id: 'b,&comma', kind: 'external' },
  ],
  edges: [{ source: 'a "quoted" \\ vm', target: 'b,&comma', bytes: 5e9, packets: 3 }],
};

describe('exports', () => {
  it('GraphML: well-formed, every node, edge and byte count, read back by an XML parser', () => {
    const doc = new DOMParser().parseFromString(EXPORTERS.graphml(cluster), 'text/xml');
    assert.equal(doc.getElementsByTagName('node').length, cluster.nodes.length);
    const edges = doc.getElementsByTagName('edge');
    assert.equal(edges.length, cluster.edges.length);
    let bytes = 0;
    for (const data of Array.from(doc.getElementsByTagName('data')))
      if (data.getAttribute('key') === 'e_bytes') bytes += Number(data.textContent);
    assert.equal(bytes, totalBytes);
    const odd = new DOMParser().parseFromString(EXPORTERS.graphml(awkward), 'text/xml');
    assert.equal(odd.getElementsByTagName('edge')[0]?.getAttribute('source'), 'a "quoted" \\ vm');
  });

  it('GEXF: graphology-gexf reads back the nodes, attributes and byte weights', () => {
    const g = parseGexf(DirectedGraph, EXPORTERS.gexf(cluster));
    assert.equal(g.order, cluster.nodes.length);
    assert.equal(g.size, cluster.edges.length);
    for (const e of cluster.edges) assert.equal(g.getEdgeAttribute(e.source, e.target, 'weight'), e.bytes);
    const vm = cluster.nodes.find((n) => n.kind === 'vm' && n.cloud !== undefined);
    assert.equal(g.getNodeAttribute(vm?.id, 'cloud'), vm?.cloud);
    const odd = parseGexf(DirectedGraph, EXPORTERS.gexf(awkward));
    assert.equal(odd.getEdgeAttribute('a "quoted" \\ vm', 'b,&comma', 'weight'), 5e9);
  });

  it('DOT: Graphviz renders it with one shape per node and one per edge, clustered by cloud', () => {
    for (const graph of [cluster, awkward]) {
      const r = spawnSync('dot', ['-Tsvg'], { input: EXPORTERS.dot(graph), encoding: 'utf8' });
      assert.equal(r.status, 0, `dot (apt-get install graphviz): ${r.stderr}${r.error?.message ?? ''}`);
      assert.equal(r.stderr, '', 'Graphviz warns about nothing');
      assert.equal(r.stdout.match(/class="node"/g)?.length, graph.nodes.length);
      assert.equal(r.stdout.match(/class="edge"/g)?.length, graph.edges.length);
      const clouds = new Set(graph.nodes.map((n) => n.cloud ?? (n.kind === 'external' ? 'internet' : '?')));
      assert.equal(r.stdout.match(/class="cluster"/g)?.length, clouds.size);
    }
    // Colour follows the rate: the light edges dark, the heaviest yellow; only the heaviest are labelled.
    const svg = spawnSync('dot', ['-Tsvg'], { input: EXPORTERS.dot(cluster), encoding: 'utf8' }).stdout;
    const colours = new Set(svg.match(/<path fill="none" stroke="(#[0-9a-f]{6})"/g));
    assert.ok(colours.size >= 4, `${colours.size} edge colours`);
    const heaviest = [...cluster.edges].sort((a, b) => (b.bytesPerSecond ?? 0) - (a.bytesPerSecond ?? 0))[0];
    assert.match(
      svg,
      new RegExp(`<title>${heaviest?.source}&#45;&gt;${heaviest?.target}</title>[\\s\\S]*?stroke="#fde725"`),
    );
    // Edge labels: ten, and no two of their boxes overlap (about 0.6 em per character at 9 pt).
    const labels = [
      ...svg.matchAll(
        /<text text-anchor="middle" x="([\d.-]+)" y="([\d.-]+)"[^>]*font-size="9\.00"[^>]*>([^<]*)</g,
      ),
    ].map(([, x, y, text]) => ({ x: Number(x), y: Number(y), w: 0.6 * 9 * (text as string).length, text }));
    assert.equal(labels.length, 10);
    for (const [i, a] of labels.entries())
      for (const b of labels.slice(i + 1))
        assert.ok(
          Math.abs(a.x - b.x) * 2 >= a.w + b.w || Math.abs(a.y - b.y) >= 9,
          `${a.text} and ${b.text} overlap`,
        );
  });

  it('matrix-csv: a square matrix whose cells sum to the edge bytes, by cloud then name', () => {
    const lines = EXPORTERS['matrix-csv'](cluster).trimEnd().split('\r\n');
    const header = (lines[0] as string).split(',');
    assert.equal(header.length, cluster.nodes.length + 2);
    assert.equal(lines.length, cluster.nodes.length + 1);
    let sum = 0;
    for (const line of lines.slice(1)) for (const cell of line.split(',').slice(2)) sum += Number(cell);
    assert.equal(sum, totalBytes);
    const clouds = lines.slice(1).map((l) => l.split(',')[1] as string);
    assert.deepEqual(clouds, [...clouds].sort());
    const big: GraphView = {
      nodes: Array.from({ length: MATRIX_MAX_NODES + 1 }, (_, i) => ({ id: `v${i}` })),
      edges: [],
    };
    assert.throws(() => EXPORTERS['matrix-csv'](big), /use --format csv/);
  });

  it('csv: one row per edge, quoted where needed', () => {
    const lines = EXPORTERS.csv(awkward).trimEnd().split('\r\n');
    assert.equal(lines[1], '"a ""quoted"" \\ vm","b,&comma",x<y>,,5000000000,3,,');
  });
});

describe('sky-plan export', () => {
  const graph = fixture('golden', 'cluster.json');

  it('takes the format from --out, and analyze --format writes the same', () => {
    const out = join(tempDir(), 'g.gexf');
    const r = runCli(['export', '--graph', graph, '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(out, 'utf8'), /<gexf version="1.2"/);
    const dot = runCli(['export', '--graph', graph, '--format', 'dot']);
    assert.equal(dot.stdout, EXPORTERS.dot(cluster));
    const analyzed = runCli([
      'analyze',
      fixture('cluster', 'cluster.pcap.gz'),
      '-i',
      fixture('cluster', 'inventory.yaml'),
      '--format',
      'matrix-csv',
    ]);
    assert.equal(analyzed.status, 0, analyzed.stderr);
    assert.equal(analyzed.stdout, EXPORTERS['matrix-csv'](cluster));
  });

  it('asks for a format it cannot infer, and names the ones it knows', () => {
    const r = runCli(['export', '--graph', graph, '--out', join(tempDir(), 'g.txt')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--format is needed \(graphml, gexf, dot, csv, matrix-csv\)/);
    const bad = runCli(['export', '--graph', graph, '--format', 'pdf']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /"pdf" is not one of/);
    assert.doesNotMatch(bad.stderr + r.stderr, /at .*\.js/);
  });
});
