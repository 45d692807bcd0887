// @integration: needs Graphviz (dot), virsh
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, runCli, tempDir } from '../helpers.js';

const dir = tempDir();
const pcap = fixture('captures', 'tcpdump_geneve.pcap');
const graph = fixture('golden', 'cluster.json');
const plan = fixture('golden', 'cluster-plan.json');
const clouds = fixture('cluster', 'inventory.yaml');
const garbage = join(dir, 'garbage.txt');
writeFileSync(garbage, 'garbage\n');
const missing = join(dir, 'missing');
const badNames = join(dir, 'bad-names.json');
writeFileSync(
  badNames,
  JSON.stringify({
    schema: 'sky-plan/graph@1',
    nodes: [
      { id: 'web; rm -rf /', kind: 'vm' },
      { id: 'db', kind: 'vm' },
    ],
    edges: [{ source: 'web; rm -rf /', target: 'db', bytes: 1 }],
  }),
);
const noDir = join(dir, 'no-such-dir', 'out');

/** [arguments, the README's exit code for them]: 2 usage, 3 input. */
const CASES: [string[], number][] = [
  // Inputs that are missing, directories, or not what they should be.
  [['analyze', missing], 3],
  [['analyze', dir], 3],
  [['analyze', garbage], 3],
  [['analyze', pcap, '-i', missing], 3],
  [['analyze', pcap, '-i', garbage], 3],
  [['analyze', pcap, '-i', fixture('repro', 'inventory-alias-bomb.yaml')], 3],
  [['plan', '--graph', missing, '--clouds', clouds], 3],
  [['plan', '--graph', garbage, '--clouds', clouds], 3],
  [['plan', '--graph', graph, '--clouds', dir], 3],
  [['plan', '--graph', badNames, '--clouds', clouds], 3],
  [['export', '--graph', missing, '--format', 'dot'], 3],
  [['report', '--graph', garbage], 3],
  [['execute', '--plan', missing], 3],
  [['execute', '--plan', graph], 3],
  [['verify', '--plan', missing, pcap], 3],
  [['collect', missing], 3],
  [['collect', garbage], 3],
  [['fingerprint', '--file', missing], 3],
  [['inventory', '--libvirt', 'qemu+tcp://127.0.0.1:1/system'], 3],
  [['inventory'], 2],
  [['inventory', '--libvirt', 'test:///default', '--cloud', 'h1'], 2],
  [['inventory', '--libvirt', 'test:///default', '-o', noDir], 2],
  [['fingerprint', '--file', dir], 3],
  [['execute', '--plan', plan, '--driver', 'qmp', '--clouds', clouds, '--resume', missing], 3],
  // Outputs that cannot be written.
  [['analyze', pcap, '-o', noDir], 2],
  [['analyze', pcap, '-o', dir], 2],
  [['analyze', pcap, '--flows', noDir], 2],
  [['plan', '--graph', graph, '--clouds', clouds, '-o', noDir], 2],
  [['export', '--graph', graph, '--format', 'dot', '-o', noDir], 2],
  [['report', '--graph', graph, '-o', dir], 2],
  [['fingerprint', '--file', pcap, '-o', noDir], 2],
  [['execute', '--plan', plan, '--clouds', clouds, '--driver', 'script', '--script', dir], 2],
  // Option values.
  [['analyze', pcap, '--window', 'soon'], 2],
  [['analyze', pcap, '--max-flows', '-3'], 2],
  [['analyze', pcap, '--format', 'xml'], 2],
  [['plan', '--graph', graph, '--clouds', clouds, '--seed', '-1'], 2],
  [['plan', '--graph', graph, '--clouds', clouds, '--seed', '1e10'], 2],
  [['plan', '--graph', graph, '--clouds', clouds, '--time-limit', 'x'], 2],
  [['plan', '--graph', graph, '--clouds', clouds, '--solver', 'magic'], 2],
  [['execute', '--plan', plan, '--resume', missing], 2],
  [['execute', '--plan', plan, '--max-per-link', '0'], 2],
  [['collect', '--listen', 'nowhere:99999'], 2],
  [['capture', '-i', 'lo', '--window', '0s'], 2],
  [['tunnel', 'source', '--listen', 'x'], 2],
  // Unknown options and commands.
  [['analyze', pcap, '--frobnicate'], 2],
  [['plan', '--frobnicate'], 2],
  [['frobnicate'], 2],
];

const STACK = /^\s+at .+[(:]\d+|internal error|node:internal/m;

describe('every command, every kind of bad argument: a clear message and the documented exit code', () => {
  for (const [args, code] of CASES) {
    it(args.map((a) => a.replace(dir, '$TMP').replace(/.*\/fixtures\//, '')).join(' '), () => {
      const r = runCli(args);
      assert.doesNotMatch(r.stderr, STACK);
      assert.match(r.stderr, /^sky-plan: error: |^error: |sky-plan: error:/m);
      assert.equal(r.status, code, r.stderr);
    });
  }
});

describe('reproducers of earlier crashes end as warnings', () => {
  for (const name of [
    'pcapng-block-straddles-read-buffer.pcapng.gz',
    'pcapng-timestamp-out-of-range.pcapng',
    'pcapng-timestamp-summary.pcapng',
  ]) {
    it(name, () => {
      for (const extra of [[], ['--window', '10s'], ['--json']]) {
        const r = runCli(['analyze', fixture('repro', name), ...extra]);
        assert.doesNotMatch(r.stderr, STACK);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /sky-plan: warning: .*(shorter than their type|a capture clock was wrong)/);
      }
    });
  }
});
