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

  it('two clouds joined by a 200 Mbit/s tbf link, captured on both bridges: figures for the record', () =>
    withLab(
      async (lab) => {
        const captures = [`hv-a=${await lab.capture('a')}`, `hv-b=${await lab.capture('b')}`];
        const truth = lab.runMpi('ring', 4 << 20, 5);
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
