import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRng } from '../../planner/rng.js';
import { communities } from '../../src/graph/communities.js';
import type { GraphView } from '../../src/graph/graph-view.js';
import { classifyPatterns, type Phase } from '../../src/graph/patterns.js';
import { PHASE_RULE, segmentPhases } from '../../src/graph/phases.js';

const W = 10; // seconds per window
type Pair = [string, string, number]; // sender, receiver, share of the window's bytes
type Shape = (n: number) => Pair[];

const name = (i: number) => `v${String(i).padStart(3, '0')}`;
const ring: Shape = (n) =>
  Array.from({ length: n }, (_, i) => [
    [name(i), name((i + 1) % n), 1] as Pair,
    [name((i + 1) % n), name(i), 1] as Pair,
  ]).flat();
const allToAll: Shape = (n) =>
  Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => [name(i), name(j), 1] as Pair).filter(([a, b]) => a !== b),
  ).flat();
const grid: Shape = (n) => {
  const cols = 4;
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) {
    if (i % cols < cols - 1) pairs.push([name(i), name(i + 1), 1], [name(i + 1), name(i), 1]);
    if (i + cols < n) pairs.push([name(i), name(i + cols), 1], [name(i + cols), name(i), 1]);
  }
  return pairs;
};
const masterWorker: Shape = (n) =>
  Array.from({ length: n - 1 }, (_, i) => [
    [name(0), name(i + 1), 0.05] as Pair,
    [name(i + 1), name(0), 1] as Pair,
  ]).flat();
const shuffle: Shape = (n) =>
  Array.from({ length: n / 2 }, (_, i) =>
    Array.from({ length: n / 2 }, (_, j) => [name(i), name(n / 2 + j), 1] as Pair),
  ).flat();
const idle: Shape = () => [];

/**
 * A one-community graph whose traffic follows `script`: per window, a shape among `n` members, `bytes`
 * in all (spread over the shape's pairs by their share), each pair's bytes times (1 ± noise).
 */
function timeline(
  n: number,
  script: { shape: Shape; windows: number; bytes?: number }[],
  noise = 0,
  seed = 1,
) {
  const rng = seededRng(seed);
  const series = new Map<string, [number, number, number][]>();
  let k = 0;
  for (const { shape, windows, bytes = 1e7 } of script) {
    const pairs = shape(n);
    const total = pairs.reduce((s, p) => s + p[2], 0);
    for (let i = 0; i < windows; i++, k++)
      for (const [a, b, share] of pairs) {
        const key = `${a}>${b}`;
        const list = series.get(key) ?? [];
        series.set(key, list);
        list.push([k * W, (bytes * share * (1 + noise * (2 * rng() - 1))) / total, 1]);
      }
  }
  const graph: GraphView = {
    nodes: Array.from({ length: n }, (_, i) => ({ id: name(i), kind: 'vm' })),
    edges: [...series].map(([key, s]) => {
      const [source, target] = key.split('>') as [string, string];
      const windows = { series: s, peakBytesPerSecond: 0, p95BytesPerSecond: 0 };
      return { source, target, bytes: s.reduce((t, x) => t + x[1], 0), windows };
    }),
  };
  const all = { of: new Map(graph.nodes.map((node) => [node.id, 0])), count: 1, modularity: 0 };
  const [c] = classifyPatterns(graph, all, { first: 0, seconds: W }).communities;
  assert.ok(c !== undefined);
  return c.phases.map((p: Phase) => [p.pattern, p.start, p.end]);
}

describe('phases: where a community changes pattern or volume (PHASE_RULE)', () => {
  it('ring → all-to-all at the same volume: two phases, the boundary on the switch', () => {
    assert.deepEqual(
      timeline(6, [
        { shape: ring, windows: 30 },
        { shape: allToAll, windows: 30 },
      ]),
      [
        ['ring', 0, 300],
        ['all-to-all', 300, 600],
      ],
    );
  });

  it('a switch in the middle of a window: the boundary within one window of it', () => {
    const mixed: Shape = (n) => [
      ...ring(n),
      ...allToAll(n).map(([a, b]): Pair => [a, b, (2 * n) / (n * (n - 1))]),
    ];
    const phases = timeline(6, [
      { shape: ring, windows: 30 },
      { shape: mixed, windows: 1 },
      { shape: allToAll, windows: 29 },
    ]);
    assert.deepEqual(
      phases.map(([pattern]) => pattern),
      ['ring', 'all-to-all'],
    );
    const boundary = phases[1]?.[1] as number;
    assert.ok(Math.abs(boundary - 305) <= W, `boundary at ${boundary} s, the switch at 305 s`);
  });

  it('stencil → master-worker, with 20% noise on every pair', () => {
    assert.deepEqual(
      timeline(
        12,
        [
          { shape: grid, windows: 20 },
          { shape: masterWorker, windows: 20 },
        ],
        0.2,
      ),
      [
        ['stencil-2d', 0, 200],
        ['master-worker', 200, 400],
      ],
    );
  });

  it('shuffle → idle → shuffle: the gap splits, both phases are shuffles', () => {
    assert.deepEqual(
      timeline(8, [
        { shape: shuffle, windows: 6 },
        { shape: idle, windows: 5 },
        { shape: shuffle, windows: 6 },
      ]),
      [
        ['shuffle', 0, 60],
        ['shuffle', 110, 170],
      ],
    );
  });

  it('volume: a one-window burst stays in its phase; a sustained tenfold change is a phase', () => {
    const bursty = timeline(6, [
      { shape: ring, windows: 10 },
      { shape: ring, windows: 1, bytes: 1e8 },
      { shape: ring, windows: 10 },
      { shape: ring, windows: 1, bytes: 3e7 },
      { shape: ring, windows: 10 },
    ]);
    assert.deepEqual(bursty, [['ring', 0, 320]]);
    assert.deepEqual(
      timeline(6, [
        { shape: ring, windows: 10 },
        { shape: ring, windows: 10, bytes: 1e8 },
        { shape: ring, windows: 10 },
      ]),
      [
        ['ring', 0, 100],
        ['ring', 100, 200],
        ['ring', 200, 300],
      ],
    );
  });

  it('an hour of a stable job with 30% noise per pair and window is one phase, on any seed', () => {
    for (let seed = 1; seed <= 5; seed++)
      assert.deepEqual(timeline(8, [{ shape: ring, windows: 360 }], 0.3, seed), [['ring', 0, 3600]]);
  });

  it('the rule on window series: hysteresis, idle gaps, partly covered first and last windows', () => {
    const w = (bytes: number, pattern = 'ring') => ({ bytes, pattern });
    const steady = Array.from({ length: 8 }, () => w(100));
    assert.equal(PHASE_RULE.hold, 2);
    // One odd window joins its phase; two in a row start one at the first of them.
    assert.deepEqual(segmentPhases([...steady, w(100, 'shuffle'), ...steady]), [[0, 17]]);
    assert.deepEqual(segmentPhases([...steady, w(100, 'shuffle'), w(100, 'shuffle'), ...steady]), [
      [0, 8],
      [8, 10],
      [10, 18],
    ]);
    // A quiet first window (the capture began mid-window) and a quiet last one are no phases of their own.
    assert.deepEqual(segmentPhases([w(5), ...steady, w(3)]), [[0, 10]]);
    // Idle windows belong to no phase.
    assert.deepEqual(segmentPhases([...steady, w(0), w(0), ...steady]), [
      [0, 8],
      [10, 18],
    ]);
  });

  it('membership: a VM whose traffic moves from one job to another is reported with the time', () => {
    // Two rings of four; x works with ring a for 20 windows, then with ring b for 20.
    const series = new Map<string, [number, number, number][]>();
    const send = (a: string, b: string, k: number, bytes: number) => {
      const list = series.get(`${a}>${b}`) ?? [];
      series.set(`${a}>${b}`, list);
      list.push([k * W, bytes, 1]);
    };
    for (let k = 0; k < 40; k++) {
      for (const job of ['a', 'b'])
        for (let i = 0; i < 4; i++) {
          send(`${job}${i}`, `${job}${(i + 1) % 4}`, k, 1e6);
          send(`${job}${(i + 1) % 4}`, `${job}${i}`, k, 1e6);
        }
      const peer = k < 20 ? 'a0' : 'b0';
      send('x', peer, k, 5e5);
      send(peer, 'x', k, 5e5);
    }
    const ids = [...new Set([...series.keys()].flatMap((key) => key.split('>')))];
    const graph: GraphView = {
      nodes: ids.map((id) => ({ id, kind: 'vm' })),
      edges: [...series].map(([key, s]) => {
        const [source, target] = key.split('>') as [string, string];
        const windows = { series: s, peakBytesPerSecond: 0, p95BytesPerSecond: 0 };
        return { source, target, bytes: s.reduce((t, x) => t + x[1], 0), windows };
      }),
    };
    const found = communities(graph);
    const report = classifyPatterns(graph, found, { first: 0, seconds: W });
    assert.notEqual(found.of.get('a0'), found.of.get('b0'));
    assert.deepEqual(report.membership, [
      { vm: 'x', from: found.of.get('a0'), to: found.of.get('b0'), at: 200 },
    ]);
  });
});
