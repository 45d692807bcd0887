import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fixture, pcapFile, runCli, tcpFrame, tempDir, writeTemp } from '../helpers.js';

const cluster = fixture('cluster', 'cluster.pcap.gz');
const inventory = fixture('cluster', 'inventory.yaml');

describe('sky-plan analyze', () => {
  it('prints the summary table by default: clouds, cost, top talkers, tunnels', () => {
    const r = runCli(['analyze', cluster, '--inventory', inventory]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /16,182 frames/);
    assert.match(r.stdout, /25 vm, 3 unknown, 1 external/);
    assert.match(r.stdout, /Traffic by cloud pair/);
    assert.match(r.stdout, /egress cost of the captured traffic: \$/);
    assert.match(r.stdout, /Top talkers/);
    assert.match(r.stdout, /vxlan/);
    assert.equal(r.stderr, '');
  });

  it('writes graph@1 JSON with --json, and the same through --out', () => {
    const r = runCli(['analyze', cluster, '-i', inventory, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.schema, 'sky-plan/graph@1');
    assert.ok(doc.nodes.every((n: { id: string }) => typeof n.id === 'string'));
    assert.ok(
      doc.edges.every(
        (e: { source: string; bytes: number; packets: number }) => e.source && e.bytes > 0 && e.packets > 0,
      ),
    );
    const out = join(tempDir(), 'g.json');
    const r2 = runCli(['analyze', cluster, '-i', inventory, '--out', out]);
    assert.equal(r2.status, 0);
    assert.match(r2.stdout, /sky-plan analyze/);
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')).edges, doc.edges);
  });

  it('writes CSV and GraphML', () => {
    const csv = runCli(['analyze', cluster, '-i', inventory, '--format', 'csv']);
    assert.equal(csv.status, 0);
    const lines = csv.stdout.trim().split('\r\n');
    assert.equal(lines[0], 'source,target,source_cloud,target_cloud,bytes,packets,flows,bytes_per_second');
    assert.ok(lines.length > 100);
    const xml = runCli(['analyze', cluster, '--format', 'graphml']);
    assert.match(xml.stdout, /^<\?xml/);
    assert.match(xml.stdout, /<graph id="sky-plan" edgedefault="directed">/);
  });

  it('reads stdin, plain or gzip', () => {
    const gz = readFileSync(cluster);
    for (const input of [gz, gunzipSync(gz)]) {
      const r = runCli(['analyze', '-', '--json'], input);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).captures[0].stats.frames, 16182);
    }
  });

  it('adds per-edge windows with --window', () => {
    const doc = JSON.parse(runCli(['analyze', cluster, '-i', inventory, '-w', '10s', '--json']).stdout);
    assert.equal(doc.window.seconds, 10);
    const edge = doc.edges[0];
    assert.ok(edge.windows.series.length > 1);
    assert.ok(edge.windows.peakBytesPerSecond >= edge.windows.p95BytesPerSecond);
  });

  it('warns about a truncated capture and still exits 0', () => {
    const whole = pcapFile([
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2, 10) },
      { data: tcpFrame('1.1.1.1', '2.2.2.2', 1, 2, 10) },
    ]);
    const r = runCli(['analyze', writeTemp('cut.pcap', whole.subarray(0, whole.length - 5)), '--json']);
    assert.equal(r.status, 0);
    assert.equal(JSON.parse(r.stdout).summary.edgePackets, 1);
    assert.match(r.stderr, /^sky-plan: warning: .*capture truncated at byte/m);
  });

  it('gives user mistakes a message and an exit code, never a stack trace', () => {
    const cases: [string[], number, RegExp][] = [
      [['analyze', '/nope.pcap'], 3, /capture file not found: \/nope\.pcap/],
      [
        ['analyze', writeTemp('t.txt', 'hello world, not a pcap')],
        3,
        /unknown capture format, magic 0x68656c6c/,
      ],
      [['analyze', cluster, '--window', 'soon'], 2, /--window: "soon" is not a duration/],
      [['analyze', cluster, '--format', 'xml'], 2, /--format: "xml" is not one of/],
      [
        [
          'analyze',
          cluster,
          '--inventory',
          writeTemp('bad.yaml', 'vms:\n  - name: a\n    nics: [{ mac: nope }]\n'),
        ],
        3,
        /bad\.yaml:3:19: vms\[0\]\.nics\[0\]\.mac: not a MAC address/,
      ],
      [['analyze', cluster, '--host', 'a', '--host', 'b'], 2, /2 --host given for 1 captures/],
      [['analyze'], 2, /missing required argument/],
      [['analyse', cluster], 2, /unknown command/],
    ];
    for (const [args, status, message] of cases) {
      const r = runCli(args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('prints help and version', () => {
    assert.match(runCli(['analyze', '--help']).stdout, /--inventory <file>/);
    assert.match(runCli(['--version']).stdout, /^\d+\.\d+\.\d+/);
  });
});
