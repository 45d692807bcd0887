// @integration: needs four minutes of CPU
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Coverage } from './coverage.js';
import { fuzz } from './fuzz-loop.js';
import { TARGETS } from './targets.js';

const SECONDS = 30;
const coverage = new Coverage();
before(() => coverage.start());
after(() => coverage.stop());

describe(`fuzzing every parser for ${SECONDS} s (coverage-guided)`, () => {
  for (const target of TARGETS)
    it(`${target.name}: no crash, hang, unbounded memory or wrong error`, async (t) => {
      const r = await fuzz(target, SECONDS, 1, coverage);
      t.diagnostic(
        `${r.inputs} inputs (${(r.inputs / r.seconds).toFixed(0)}/s), corpus ${r.corpus}, ${r.blocks} blocks`,
      );
      assert.deepEqual(
        r.findings.map((f) => `${f.problem.split('\n')[0]} (${f.input.toString('base64').slice(0, 200)})`),
        [],
      );
      // That it ran, not how fast: a loaded CI machine has done 22 inputs/s here (64 on a quiet one).
      assert.ok(r.inputs > 300, `${r.inputs} inputs`);
      assert.ok(r.corpus > target.seeds().length, 'coverage found inputs beyond the seeds');
    });
});
