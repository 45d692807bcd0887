import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, runCli } from '../helpers.js';
import { compareMatrices } from './lab.js';

/** The lab's recorded jobs (npm run lab:fixtures): analyzed offline against their ground truth. */
describe('lab fixtures against their ground truth', () => {
  for (const [job, pattern] of [
    ['mpi-ring', 'ring'],
    ['mpi-alltoall', 'all-to-all'],
    ['socket-shuffle', 'shuffle'],
  ] as const) {
    it(`${job}: cosine >= 0.999, TVD <= 0.01, named ${pattern}`, () => {
      const r = runCli([
        'analyze',
        fixture('lab', `${job}.pcap.gz`),
        '-i',
        fixture('lab', 'inventory.json'),
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as GraphDocument;
      const truth = new Map(
        Object.entries(
          JSON.parse(readFileSync(fixture('lab', `${job}.truth.json`), 'utf8')) as Record<string, number>,
        ),
      );
      const matrix = new Map(
        doc.edges
          .filter((e) => /^vm\d$/.test(e.source) && /^vm\d$/.test(e.target))
          .map((e) => [`${e.source}>${e.target}`, e.bytes] as const),
      );
      const { cosine, tvd } = compareMatrices(matrix, truth);
      assert.ok(cosine >= 0.999, `cosine ${cosine}`);
      assert.ok(tvd <= 0.01, `TVD ${tvd}`);
      assert.equal(doc.patterns.communities.find((c) => c.members.includes('vm0'))?.pattern, pattern);
    });
  }
});
