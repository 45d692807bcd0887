// @integration: needs root (network namespaces), Open MPI
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { runCli } from '../helpers.js';
import { LAB_JOBS } from './jobs.js';
import { compareMatrices, Lab } from './lab.js';

/** The VM × VM byte matrix sky-plan sees in captures ("sender>receiver" → bytes). */
function analyze(lab: Lab, captures: string[]): { matrix: Map<string, number>; doc: GraphDocument } {
  const r = runCli(['analyze', ...captures, '-i', lab.inventory(), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as GraphDocument;
  const vms = new Set(lab.vms.map((v) => v.name));
  const matrix = new Map<string, number>();
  for (const e of doc.edges)
    if (vms.has(e.source) && vms.has(e.target)) matrix.set(`${e.source}>${e.target}`, e.bytes);
  return { matrix, doc };
}

/** The pattern sky-plan names for the community holding the lab's first VM. */
function patternOf(doc: GraphDocument): string | undefined {
  return doc.patterns.communities.find((c) => c.members.includes('vm0'))?.pattern;
}

/** One lab at a time (they share the launcher's address), always torn down. */
async function withLab(
  run: (lab: Lab) => Promise<void>,
  clouds = [{ name: 'a', vms: 4 }],
  link?: { rateMbit: number },
): Promise<void> {
  const lab = new Lab(clouds, link);
  try {
    await run(lab);
  } finally {
    lab.destroy();
  }
}

describe('lab: Open MPI in network namespaces, captured at the bridge', { timeout: 300_000 }, () => {
  // Jobs on one bridge: the matrix must match the job's own count (cosine >= 0.999, TVD <= 0.01).
  for (const { title, pattern, run } of LAB_JOBS) {
    it(`${title}: the VM matrix matches the ground truth, the pattern is named ${pattern}`, () =>
      withLab(async (lab) => {
        const capture = await lab.capture('a');
        const truth = await run(lab);
        assert.equal(await lab.stopCaptures(), 0, 'tcpdump dropped nothing');
        const { matrix, doc } = analyze(lab, [capture]);
        const { cosine, tvd } = compareMatrices(matrix, truth);
        process.stdout.write(
          `# lab ${pattern}, one bridge: cosine ${cosine.toFixed(6)}, TVD ${tvd.toFixed(5)}\n`,
        );
        assert.ok(cosine >= 0.999, `cosine ${cosine}`);
        assert.ok(tvd <= 0.01, `TVD ${tvd}`);
        assert.equal(patternOf(doc), pattern);
      }));
  }

  it('two jobs at once: one switches from ring to all-to-all halfway (two phases, the boundary within a window), the other stays a ring', () =>
    withLab(
      async (lab) => {
        const capture = await lab.capture('a');
        // 20 rounds of each, 250 ms apart: 5 s of ring, then 5 s of all-to-all, in 1 s windows.
        const [switching, steady] = await Promise.all([
          lab.runMpi('switch', 1 << 20, 20, { vms: lab.vms.slice(0, 4), pauseMs: 250 }),
          lab.runMpi('ring', 1 << 20, 40, { vms: lab.vms.slice(4), pauseMs: 250 }),
        ]);
        assert.equal(await lab.stopCaptures(), 0, 'tcpdump dropped nothing');
        const r = runCli(['analyze', capture, '-i', lab.inventory(), '--window', '1s', '--json']);
        assert.equal(r.status, 0, r.stderr);
        const doc = JSON.parse(r.stdout) as GraphDocument;
        const of = (vm: string) => doc.patterns.communities.find((c) => c.members.includes(vm));
        const at = Number(/switch (\d+\.\d+)/.exec(switching.stdout)?.[1]);
        const phases = (of('vm0')?.phases ?? []).map((p) => `${p.pattern} ${p.start}-${p.end}`);
        const other = (of('vm4')?.phases ?? []).map((p) => `${p.pattern} ${p.start}-${p.end} ${p.bytes}`);
        process.stdout.write(
          `# lab switch at ${at}: ${phases.join(', ')}; the other job: ${other.join(', ')}\n`,
        );
        assert.deepEqual(
          of('vm0')?.phases.map((p) => p.pattern),
          ['ring', 'all-to-all'],
          phases.join(', '),
        );
        const boundary = of('vm0')?.phases[1]?.start ?? 0;
        assert.ok(Math.abs(boundary - at) <= 1, `boundary ${boundary}, switch ${at}`);
        assert.deepEqual(
          of('vm4')?.phases.map((p) => p.pattern),
          ['ring'],
          'the other job, one phase',
        );
        assert.ok(!of('vm4')?.members.includes('vm0'), 'two communities');
        assert.deepEqual(doc.patterns.membership, [], 'no VM changed jobs');
        assert.ok(steady.truth.size === 4);
      },
      [{ name: 'a', vms: 8 }],
    ));

  it('two clouds joined by a 200 Mbit/s tbf link, captured on both bridges: figures for the record', () =>
    withLab(
      async (lab) => {
        const captures = [`hv-a=${await lab.capture('a')}`, `hv-b=${await lab.capture('b')}`];
        const { truth } = await lab.runMpi('ring', 4 << 20, 5);
        assert.equal(await lab.stopCaptures(), 0, 'tcpdump dropped nothing');
        const { matrix, doc } = analyze(lab, captures);
        const { cosine, tvd } = compareMatrices(matrix, truth);
        process.stdout.write(
          `# lab ring over two clouds: cosine ${cosine.toFixed(6)}, TVD ${tvd.toFixed(5)}, ${doc.dedup.packets} packets seen on both bridges counted once\n`,
        );
        // Retransmissions on the rate-limited link count again on the wire: looser than on one bridge.
        assert.ok(cosine >= 0.98, `cosine ${cosine}`);
        assert.ok(doc.dedup.packets > 0, 'frames crossing the link are seen on both bridges, counted once');
      },
      [
        { name: 'a', vms: 2 },
        { name: 'b', vms: 2 },
      ],
      { rateMbit: 200 },
    ));
});
