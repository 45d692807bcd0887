import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, ROOT, runCli, tempDir } from '../helpers.js';

/**
 * sky-plan installed where the native libpcap bindings could not be built (no libpcap or no compiler:
 * npm skips a failed optional dependency): the package as packed, with every dependency but pcap and cap.
 */
function installWithoutNative(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'dist'));
  mkdirSync(join(dir, 'node_modules'));
  for (const f of ['package.json']) copyFileSync(join(ROOT, f), join(dir, f));
  for (const f of ['sky-plan.mjs', 'report-client.js'])
    copyFileSync(join(ROOT, 'dist', f), join(dir, 'dist', f));
  for (const m of readdirSync(join(ROOT, 'node_modules')))
    if (m !== 'pcap' && m !== 'cap' && m !== '.bin')
      symlinkSync(join(ROOT, 'node_modules', m), join(dir, 'node_modules', m));
  return dir;
}

describe('without the native pcap and cap modules (optional dependencies)', () => {
  const dir = installWithoutNative();
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [join(dir, 'dist', 'sky-plan.mjs'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const inventory = fixture('cluster', 'inventory.yaml');

  it('every command but capture runs: analyze, plan, report, export', () => {
    const graph = join(dir, 'graph.json');
    const analyzed = cli(['analyze', fixture('cluster', 'cluster.pcap.gz'), '-i', inventory, '--out', graph]);
    assert.equal(analyzed.status, 0, analyzed.stderr);
    const planned = cli(['plan', '--graph', graph, '--clouds', inventory, '--json']);
    assert.equal(planned.status, 0, planned.stderr);
    assert.equal(cli(['report', '--graph', graph, '-o', join(dir, 'r.html')]).status, 0);
    assert.equal(cli(['export', '--graph', graph, '--format', 'gexf']).status, 0);
  });

  it('capture says what is missing and how to build it, without a stack trace', () => {
    for (const [args, module] of [
      [['capture', '-i', 'lo', '--duration', '1s'], 'pcap'],
      [['capture', '--list'], 'cap'],
    ] as const) {
      const r = cli([...args]);
      assert.equal(r.status, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`needs the native "${module}" module.*npm rebuild ${module}`));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  it('where they are built, capture --list names the interfaces through cap', () => {
    const r = runCli(['capture', '--list']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\s+lo\s+127\.0\.0\.1/m);
  });
});
