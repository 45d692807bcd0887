import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fixture, runCli, tempDir, writeTemp } from '../helpers.js';

const inventory = fixture('cluster', 'inventory.yaml');
let graph: string;

before(() => {
  graph = join(tempDir(), 'graph.json');
  const r = runCli(['analyze', fixture('cluster', 'cluster.pcap.gz'), '-i', inventory, '--out', graph]);
  assert.equal(r.status, 0, r.stderr);
});

/** The plan without what varies from run to run (solve time, version). */
function stable(json: string): unknown {
  const doc = JSON.parse(json);
  doc.generator.version = '(any)';
  doc.solver.seconds = '(any)';
  return doc;
}

describe('sky-plan plan', () => {
  it('finds the proven-optimal plan for the bundled cluster (golden)', () => {
    const r = runCli(['plan', '--graph', graph, '--clouds', inventory, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = stable(r.stdout) as {
      schema: string;
      solver: { optimal: boolean };
      after: { cost: { total: number } };
      before: { cost: { total: number } };
    };
    assert.equal(doc.schema, 'sky-plan/plan@1');
    assert.equal(doc.solver.optimal, true);
    assert.ok(doc.after.cost.total < doc.before.cost.total);
    const path = fixture('golden', 'cluster-plan.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, `${JSON.stringify(doc, null, 1)}\n`);
    assert.deepEqual(doc, JSON.parse(readFileSync(path, 'utf8')));
  });

  it('prints a summary with the cost breakdown and each move with its reason, and writes --out', () => {
    const out = join(tempDir(), 'plan.json');
    const r = runCli([
      'plan',
      '-g',
      graph,
      '-c',
      inventory,
      '--solver',
      'multilevel',
      '--seed',
      '3',
      '--out',
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /solver: multilevel/);
    assert.match(r.stdout, /egress between clouds\s+\$[\d.,]+\s+\$[\d.,]+/);
    assert.match(r.stdout, /total\s+\$[\d,.]+\s+\$[\d,.]+\s+-\$[\d,.]+\s+-[\d.]+%/);
    assert.match(r.stdout, /because it/);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    assert.equal(doc.solver.seed, 3);
    assert.ok(doc.moves.every((m: { from: string; to: string }) => m.from !== m.to));
  });

  it('accepts the minimal clouds spec and a hand-written graph', () => {
    const clouds = writeTemp(
      'clouds.yaml',
      `clouds:
  - { name: a, capacity: { vms: 12875 }, egress: { default: 0.02 } }   # $/GB to any other cloud
  - { name: b, capacity: { vms: 12875 }, egress: { default: 0.02 } }
`,
    );
    const hand = writeTemp(
      'g.json',
      JSON.stringify({
        schema: 'sky-plan/graph@1',
        nodes: [
          { id: 'x', cloud: 'a', vcpus: 2, memoryGiB: 0.001 },
          { id: 'y', cloud: 'b', vcpus: 2, memoryGiB: 0.001 },
          { id: 'z', cloud: 'b', vcpus: 2, memoryGiB: 0.001 },
          { id: 'new' },
        ],
        edges: [
          { source: 'x', target: 'y', bytes: 5e6, packets: 4000 },
          { source: 'y', target: 'x', bytes: 5e6, packets: 4000 },
          { source: 'new', target: 'x', bytes: 1e6, packets: 1000 },
        ],
      }),
    );
    const r = runCli(['plan', '-g', hand, '-c', clouds, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.placement.x, doc.placement.y, 'the talking pair ends up together');
    assert.equal(doc.placement.new, doc.placement.x, 'the new VM is placed next to its peer');
    assert.match(doc.notes.join('\n'), /no timeRange/);
  });

  it('chooses the multilevel solver for a large cluster, says why, and respects capacities', () => {
    const n = 3000;
    const nodes = Array.from({ length: n }, (_, i) => ({
      id: `vm${i}`,
      cloud: `c${i % 3}`,
      vcpus: 2,
      memoryGiB: 4,
    }));
    const edges = Array.from({ length: n * 4 }, (_, e) => ({
      source: `vm${Math.floor(e / 4)}`,
      target: `vm${(Math.floor(e / 4) + 1 + ((e * 7) % 25)) % n}`,
      bytes: 1000 + ((e * 7919) % 100000),
      packets: 10,
    }));
    const big = writeTemp(
      'big.json',
      JSON.stringify({ schema: 'sky-plan/graph@1', nodes, edges, timeRange: { seconds: 60 } }),
    );
    const clouds = writeTemp(
      'c3.yaml',
      ['c0', 'c1', 'c2']
        .map(
          (c, i) =>
            `  - { name: ${c}, capacity: { vms: 1050 }, egress: { default: ${0.02 * (i + 1)} }, compute: { vcpuHour: 0.02 } }`,
        )
        .join('\n')
        .replace(/^/, 'clouds:\n'),
    );
    const r = runCli(['plan', '-g', big, '-c', clouds, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.match(doc.solver.reason, /^multilevel: 9000 decisions \(> 400\)/);
    for (const load of doc.after.load) assert.ok(load.vms <= 1050, `${load.cloud} holds ${load.vms}`);
    assert.ok(doc.after.cost.total < doc.before.cost.total);
  });

  it('names conflicting constraints, and refuses bad input with a message', () => {
    const spec = readFileSync(inventory, 'utf8').replace(
      /^images:/m,
      'constraints:\n  antiAffinity: [[cfd-0-0, cfd-0-1, cfd-0-2, cfd-1-0]]\nimages:',
    );
    const r = runCli(['plan', '-g', graph, '-c', writeTemp('inv.yaml', spec)]);
    assert.equal(r.status, 3);
    assert.match(
      r.stderr,
      /no placement satisfies every constraint:\n\s+anti-affinity group \[cfd-0-0, cfd-0-1, cfd-0-2, cfd-1-0\] has 4 VMs but there are only 3 clouds/,
    );
    const cases: [string[], number, RegExp][] = [
      [['plan', '-c', inventory], 2, /required option '-g, --graph <file>'/],
      [
        ['plan', '-g', graph, '-c', inventory, '--solver', 'magic'],
        2,
        /--solver: "magic" is not one of auto, exact/,
      ],
      [
        [
          'plan',
          '-g',
          writeTemp('bad.json', '{"schema":"sky-plan/graph@1","nodes":[{"id":1}],"edges":[]}'),
          '-c',
          inventory,
        ],
        3,
        /invalid graph .*nodes\[0\]\.id/,
      ],
      [['plan', '-g', writeTemp('x.json', 'not json'), '-c', inventory], 3, /is not JSON/],
      [
        ['plan', '-g', graph, '-c', inventory, '--horizon', 'forever'],
        2,
        /--horizon: "forever" is not a duration/,
      ],
    ];
    for (const [args, status, message] of cases) {
      const c = runCli(args);
      assert.equal(c.status, status, `${args.join(' ')}: ${c.stderr}`);
      assert.match(c.stderr, message);
      assert.doesNotMatch(c.stderr, /\n\s+at /);
    }
  });
});

describe('sky-plan plan and communication patterns', () => {
  /** Three VMs of one all-to-all job; cloud a is cheaper but holds two VMs, b holds three. */
  function scenario(capacityB: number): { graph: string; clouds: string } {
    const dir = tempDir();
    const members = ['r0', 'r1', 'r2'];
    const edges = members.flatMap((a) =>
      members.filter((b) => b !== a).map((b) => ({ source: a, target: b, bytes: 1e6, packets: 1e3 })),
    );
    const graph = join(dir, 'graph.json');
    writeFileSync(
      graph,
      JSON.stringify({
        schema: 'sky-plan/graph@1',
        timeRange: { seconds: 3600 },
        nodes: members.map((id) => ({ id, kind: 'vm', cloud: 'b', vcpus: 2, memoryGiB: 1 })),
        edges,
        patterns: { communities: [{ members, pattern: 'all-to-all' }] },
      }),
    );
    const clouds = join(dir, 'clouds.json');
    writeFileSync(
      clouds,
      JSON.stringify({
        clouds: [
          { name: 'a', capacity: { vms: 2 }, compute: { vmHour: 0.01 }, egress: { default: 0.01 } },
          { name: 'b', capacity: { vms: capacityB }, compute: { vmHour: 0.5 }, egress: { default: 0.01 } },
        ],
      }),
    );
    return { graph, clouds };
  }

  it('keeps an all-to-all group in one cloud, even where splitting it would be cheaper', () => {
    const { graph, clouds } = scenario(3);
    const r = runCli(['plan', '--graph', graph, '--clouds', clouds, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { placement: Record<string, string>; notes: string[] };
    assert.equal(new Set(Object.values(doc.placement)).size, 1, JSON.stringify(doc.placement));
    assert.ok(doc.notes.some((n) => /all-to-all group \[r0, r1, r2\] kept in one cloud/.test(n)));
  });

  it('--phase latest plans on the latest phase, its traffic and its pattern, and says so', () => {
    const { graph: whole, clouds } = scenario(3);
    const doc = JSON.parse(readFileSync(whole, 'utf8'));
    // The job was something else for 300 s (a light exchange), then all-to-all from 300 s to 600 s.
    doc.window = { seconds: 10, first: 0, count: 60 };
    doc.timeRange = { first: 0, seconds: 600 };
    doc.patterns.communities[0].pattern = 'ring';
    doc.patterns.communities[0].phases = [
      { start: 0, end: 300, pattern: 'ring' },
      { start: 300, end: 600, pattern: 'all-to-all' },
    ];
    for (const e of doc.edges) {
      const series = Array.from({ length: 60 }, (_, k) => [k * 10, k < 30 ? 10 : 1e6, 1]);
      e.windows = { series, peakBytesPerSecond: 1e5, p95BytesPerSecond: 1e5 };
      e.bytes = series.reduce((t, x) => t + (x[1] as number), 0);
    }
    const graph = writeTemp('phased.json', JSON.stringify(doc));
    const plan = (phase: string) => {
      const r = runCli(['plan', '--graph', graph, '--clouds', clouds, '--json', '--phase', phase]);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { placement: Record<string, string>; notes: string[] };
    };
    const latest = plan('latest');
    assert.ok(
      latest.notes.includes(
        'planned on the latest phase: 300-600 s of the capture (--phase latest), not the whole capture',
      ),
      latest.notes.join('\n'),
    );
    assert.ok(latest.notes.some((n) => /all-to-all group \[r0, r1, r2\] kept in one cloud/.test(n)));
    assert.equal(new Set(Object.values(latest.placement)).size, 1);
    const all = plan('whole');
    assert.ok(all.notes.includes('planned on the whole capture (--phase whole)'));
    assert.ok(!all.notes.some((n) => /all-to-all group/.test(n)), 'as a whole the job is a ring');
    const bare = runCli(['plan', '--graph', whole, '--clouds', clouds, '--phase', 'latest']);
    assert.equal(bare.status, 3);
    assert.match(bare.stderr, /--phase latest needs phases/);
    assert.equal(runCli(['plan', '--graph', whole, '--clouds', clouds, '--phase', 'last']).status, 2);
  });

  it('splits it when no cloud can hold it, and says so', () => {
    // Three VMs must now span both clouds: b also holds only two.
    const { graph, clouds } = scenario(2);
    const r = runCli(['plan', '--graph', graph, '--clouds', clouds, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { placement: Record<string, string>; notes: string[] };
    assert.equal(new Set(Object.values(doc.placement)).size, 2);
    assert.ok(
      doc.notes.some((n) => /all-to-all groups may be split/.test(n)),
      doc.notes.join('\n'),
    );
  });
});
