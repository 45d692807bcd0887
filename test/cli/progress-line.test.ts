import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
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
});
