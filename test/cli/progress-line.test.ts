import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { phaseProgress } from '../../src/cli/progress-line.js';
import { GRAPH_FAMILIES, graphJson } from '../bench/graph-families.js';
import { FAMILIES, writeFamily } from '../bench/traffic-families.js';
import { CLI, tempDir } from '../helpers.js';

let capture: string;
let out: string;

before(() => {
  const dir = tempDir();
  capture = join(dir, 'big.pcap');
  out = join(dir, 'graph.json');
  // A capture that takes a second or more to read: 2 M frames of a million flows in random order.
  writeFamily(capture, FAMILIES.find((f) => f.flows === 1e6 && f.hosts === 200) as (typeof FAMILIES)[number]);
});

describe('analyze progress', () => {
  it('redraws a line on a terminal: bytes of the size, frames per second, time left; then clears it', () => {
    // script(1) gives the command a pseudo-terminal, and copies what it writes there to its stdout.
    const r = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${CLI} analyze ${capture} --out ${out}`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\r').filter((l) => l.includes('frames/s'));
    assert.ok(lines.length >= 1, r.stdout.slice(0, 500));
    assert.match(
      lines[0] as string,
      /big\.pcap: [\d.]+ [kMG]?B of [\d.]+ [kMG]?B \(\d+%\), [\d,.]+ [kM]? ?frames, [\d,.]+ [kM]? ?frames\/s, about \d+ s left/,
    );
    assert.ok(r.stdout.includes('\r\x1b[K'), 'the line is cleared at the end');
  });

  it('prints nothing of it when stderr is not a terminal', () => {
    const r = spawnSync(process.execPath, [CLI, 'analyze', capture, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /frames\/s/);
    assert.ok(!r.stderr.includes('\x1b[K'), 'no line drawn');
  });

  it('plan on a large graph shows its phases on a terminal', () => {
    const dir = tempDir();
    const graph = join(dir, 'graph.json');
    const clouds = join(dir, 'clouds.json');
    // 60,000 VMs: a few seconds, so the phases after the first half second are drawn.
    writeFileSync(graph, graphJson(GRAPH_FAMILIES.communities(60_000, 1)));
    writeFileSync(
      clouds,
      JSON.stringify({
        clouds: Array.from({ length: 4 }, (_, c) => ({
          name: `c${c}`,
          capacity: { vms: 15_450 },
          egress: { default: 0.02 },
        })),
      }),
    );
    const r = spawnSync(
      'script',
      [
        '-qec',
        `${process.execPath} ${CLI} plan --graph ${graph} --clouds ${clouds} --solver multilevel --out ${join(dir, 'plan.json')}`,
        '/dev/null',
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stdout.slice(-500));
    const lines = r.stdout.split('\r').filter((l) => l.includes('plan: '));
    assert.ok(
      lines.some((l) => /plan: multilevel: restart 1 of 1, coarsening and refining \(\d+\.\d s\)/.test(l)),
      JSON.stringify(lines),
    );
  });

  it('names the best cost so far with the phase, in the one money format', async () => {
    let written = '';
    const terminal = { isTTY: true, columns: 200, write: (s: string) => (written += s) };
    const p = phaseProgress(terminal as unknown as NodeJS.WriteStream, 'plan');
    await new Promise((resolve) => setTimeout(resolve, 600));
    p.phase('multilevel: restart 2 of 4, local search', 1234.5);
    p.stop();
    assert.match(
      written,
      /\[Kplan: multilevel: restart 2 of 4, local search; best so far \$1,234\.50 \(0\.\d s\)/,
    );
    assert.ok(
      written.startsWith('\r\x1b[K') && written.endsWith('\r\x1b[K'),
      'drawn in place, cleared at the end',
    );
  });
});
