import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, runCli } from '../helpers.js';
import { LAB_JOBS } from './jobs.js';
import { compareMatrices } from './lab.js';

/** Analyzes a recorded lab job and compares its VM × VM matrix with the job's ground truth. */
function measure(job: string, bytes: 'wire' | 'payload') {
  const r = runCli([
    'analyze',
    fixture('lab', `${job}.pcap.gz`),
    '-i',
    fixture('lab', 'inventory.json'),
    '--bytes',
    bytes,
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
  return {
    ...compareMatrices(matrix, truth),
    pattern: doc.patterns.communities.find((c) => c.members.includes('vm0'))?.pattern,
  };
}

/** The lab's recorded jobs (npm run lab:fixtures), analyzed offline against their ground truth. */
describe('lab fixtures against their ground truth', () => {
  for (const { fixture: job, pattern } of LAB_JOBS) {
    it(`${job}: cosine >= 0.999, TVD <= 0.01, named ${pattern}; payload bytes closer still`, () => {
      const wire = measure(job, 'wire');
      const payload = measure(job, 'payload');
      process.stdout.write(
        `# ${job}: wire TVD ${wire.tvd.toFixed(5)}, payload TVD ${payload.tvd.toFixed(5)}\n`,
      );
      assert.ok(wire.cosine >= 0.999, `cosine ${wire.cosine}`);
      assert.ok(wire.tvd <= 0.01, `TVD ${wire.tvd}`);
      assert.ok(payload.tvd <= wire.tvd, 'payload bytes leave out headers and acknowledgements');
      assert.equal(wire.pattern, pattern);
    });
  }

  it('two-jobs-switch: a launcher that speaks to one member at the end does not blur the all-to-all phase', () => {
    const r = runCli([
      'analyze',
      fixture('lab', 'two-jobs-switch.pcap.gz'),
      '-i',
      fixture('lab', 'two-jobs.inventory.json'),
      '--window',
      '1s',
      '--json',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as GraphDocument;
    const switching = doc.patterns.communities.find((c) => c.members.includes('vm0'));
    assert.deepEqual(switching?.control, ['10.77.0.254'], 'the launcher is control plane');
    assert.deepEqual(
      switching?.phases.map((p) => p.pattern),
      ['ring', 'all-to-all'],
    );
  });
});
