// @integration: needs Open MPI
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { communities } from '../../src/graph/communities.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import type { GraphView } from '../../src/graph/graph-view.js';
import { classifyPatterns } from '../../src/graph/patterns.js';
import { fixture } from '../helpers.js';

type Edges = [string, string, number][];

function graph(edges: Edges, external: string[] = []): GraphView {
  const ids = [...new Set(edges.flatMap(([a, b]) => [a, b]))];
  return {
    nodes: ids.map((id) => ({ id, kind: external.includes(id) ? 'external' : 'vm' })),
    edges: edges.map(([source, target, bytes]) => ({ source, target, bytes, packets: 1 })),
  };
}

/** The pattern of the only community of this graph (one Louvain community by construction). */
function onlyPattern(g: GraphView) {
  const all = { of: new Map(g.nodes.map((n) => [n.id, 0])), count: 1, modularity: 0 };
  const [c] = classifyPatterns(g, all).communities;
  assert.ok(c !== undefined);
  return c;
}

const both = (a: string, b: string, bytes: number): Edges => [
  [a, b, bytes],
  [b, a, bytes],
];
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('communication patterns', () => {
  it('names each shape, with high confidence', () => {
    const ring = ids('r', 8).flatMap((v, i, all) => both(v, all[(i + 1) % all.length] as string, 1e6));
    const grid = ids('g', 12).flatMap((v, i, all) => [
      ...(i % 4 < 3 ? both(v, all[i + 1] as string, 1e6) : []),
      ...(i < 8 ? both(v, all[i + 4] as string, 1e6) : []),
    ]);
    const star = ids('w', 6).flatMap((w) => both('master', w, 1e6));
    const clique = ids('a', 6).flatMap((v, i, all) => all.slice(i + 1).flatMap((w) => both(v, w, 1e6)));
    const pipeline: Edges = ids('p', 5)
      .slice(0, 4)
      .map((v, i) => [v, `p${i + 1}`, 1e7]);
    const shuffle: Edges = ids('map', 4).flatMap((m) =>
      ids('red', 3).map((r) => [m, r, 1e6] as [string, string, number]),
    );
    const web: Edges = [
      ...both('front', 'internet', 1e8),
      ...both('front', 'app', 1e5),
      ...both('app', 'db', 1e5),
    ];
    const cases: [string, GraphView][] = [
      ['ring', graph(ring)],
      ['stencil-2d', graph(grid)],
      ['master-worker', graph(star)],
      ['all-to-all', graph(clique)],
      ['pipeline', graph(pipeline)],
      ['shuffle', graph(shuffle)],
      // Two mappers, two reducers: a 4-cycle, but every byte crosses one way.
      [
        'shuffle',
        graph(ids('m', 2).flatMap((m) => ids('r', 2).map((r) => [m, r, 1e6] as [string, string, number]))),
      ],
      ['client-server', graph(web, ['internet'])],
    ];
    for (const [name, g] of cases) {
      const c = onlyPattern(g);
      assert.equal(c.pattern, name, `${name}: ${JSON.stringify(c.scores)}`);
      assert.ok(c.confidence >= 0.8, `${name}: confidence ${c.confidence}`);
    }
  });

  it('sets a launcher apart as control plane, and still names the ring', () => {
    const ring = ids('r', 8).flatMap((v, i, all) => both(v, all[(i + 1) % all.length] as string, 1e6));
    const launcher = ids('r', 8).flatMap((v) => both('mpirun', v, 1e3));
    const c = onlyPattern(graph([...ring, ...launcher]));
    assert.deepEqual(c.control, ['mpirun']);
    assert.equal(c.pattern, 'ring');
  });

  it('sets apart a launcher all of whose links are light, even one speaking to a single member', () => {
    const all = ids('r', 4).flatMap((v, i, vs) => vs.slice(i + 1).flatMap((w) => both(v, w, 1e6)));
    const c = onlyPattern(graph([...all, ...both('mpirun', 'r0', 1e3)]));
    assert.deepEqual(c.control, ['mpirun']);
    assert.equal(c.pattern, 'all-to-all');
    assert.equal(c.confidence, 1);
  });

  it('leaves a shapeless community unclassified rather than guessing', () => {
    // Random sparse traffic: no hub, no cycle structure, not bipartite, not dense.
    const edges: Edges = [
      ['a', 'b', 5e6],
      ['b', 'c', 1e6],
      ['c', 'a', 3e6],
      ['c', 'd', 2e6],
      ['d', 'e', 4e6],
      ['e', 'c', 1e6],
      ['a', 'f', 2e6],
    ];
    assert.equal(onlyPattern(graph(edges)).pattern, 'unclassified');
  });

  it('names the four applications of the bundled cluster, and the shuffle burst in time', () => {
    const doc = JSON.parse(readFileSync(fixture('golden', 'cluster.json'), 'utf8')) as GraphDocument;
    const found = communities(doc);
    const report = classifyPatterns(doc, found, doc.window);
    const byApp = new Map(
      report.communities.map(
        (c) => [c.members.find((m) => /^(mr|cfd|rw|web)/.test(m))?.split('-')[0], c] as const,
      ),
    );
    assert.equal(byApp.get('cfd')?.pattern, 'stencil-2d');
    assert.equal(byApp.get('mr')?.pattern, 'shuffle');
    assert.equal(byApp.get('rw')?.pattern, 'master-worker');
    assert.equal(byApp.get('web')?.pattern, 'client-server');
    assert.ok(report.modularity > 0.5);
    // The MapReduce job: its shuffle burst at 20-30 s, then its writes to the object store (its DNS
    // lookups before are chatter); the stencil and the render farm run throughout, one phase each.
    const first = doc.window?.first ?? 0;
    const phases = (app: string) =>
      (byApp.get(app)?.phases ?? []).map((p) => [p.pattern, p.start - first, p.end - first]);
    assert.deepEqual(phases('mr'), [
      ['shuffle', 20, 30],
      ['client-server', 40, 50],
    ]);
    assert.deepEqual(phases('cfd'), [['stencil-2d', 0, 60]]);
    assert.deepEqual(phases('rw'), [['master-worker', 0, 60]]);
  });
});
