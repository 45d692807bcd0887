// @integration: needs softflowd, pmacct, tcpdump
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, runCli, tempDir } from '../helpers.js';
import { Background } from './background.js';

const INVENTORY = fixture('lab', 'inventory.json');

function edgeMap(doc: GraphDocument): Map<string, [number, number]> {
  return new Map(doc.edges.map((e) => [`${e.source}>${e.target}`, [e.bytes, e.packets]]));
}

/** Runs an exporter against a fresh `sky-plan collect --flows` and returns the collector's graph. */
async function collectFrom(exporter: (port: string) => void): Promise<GraphDocument> {
  const collector = new Background(['collect', '--flows', '127.0.0.1:0', '--inventory', INVENTORY, '--json']);
  const port = (await collector.waitFor(/flow exports on udp 127\.0\.0\.1:(\d+)/))[1] as string;
  exporter(port);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await collector.stop(), 0, collector.stderr);
  return JSON.parse(collector.stdout) as GraphDocument;
}

/** Debian's softflowd reading a capture: NetFlow v9 (-v 9) or IPFIX (-v 10), MACs and VLANs (-T ether). */
function softflowd(pcap: string, args: string[]): Promise<GraphDocument> {
  return collectFrom((port) =>
    // softflowd 1.1.0 keeps only the first 16 characters of its paths (then it never stops): relative ones.
    execFileSync(
      'softflowd',
      [
        '-d',
        '-r',
        basename(pcap),
        '-n',
        `127.0.0.1:${port}`,
        '-T',
        'ether',
        ...args,
        '-p',
        'pid',
        '-c',
        'ctl',
      ],
      { stdio: 'ignore', cwd: dirname(pcap), timeout: 30_000 },
    ),
  );
}

/** Debian's pmacct (pmacctd) reading a capture: sFlow v5 (sfprobe) or NetFlow v5 (nfprobe). */
function pmacctd(pcap: string, plugin: 'sfprobe' | 'nfprobe', samplingRate: number): Promise<GraphDocument> {
  return collectFrom((port) => {
    const config = join(dirname(pcap), `${plugin}.conf`);
    const target =
      plugin === 'sfprobe'
        ? `sfprobe_receiver: 127.0.0.1:${port}\nsfprobe_agentip: 127.0.0.1`
        : `nfprobe_receiver: 127.0.0.1:${port}\nnfprobe_version: 5`;
    writeFileSync(
      config,
      `daemonize: false\npcap_savefile: ${pcap}\npcap_savefile_wait: false\nplugins: ${plugin}\n${target}\nsampling_rate: ${samplingRate}\n`,
    );
    const r = spawnSync('pmacctd', ['-f', config], { encoding: 'utf8', timeout: 30_000 });
    // At the end of a file pmacctd's core may see its plugin go first and exit 1: the export is complete
    // (the graph comparison says so); a timeout or a signal is a failure.
    assert.ok(r.error === undefined && r.signal === null, `pmacctd: ${r.error} ${r.signal} ${r.stderr}`);
  });
}

/** The lab capture, and the same with only IP packets: what flow records can express (no ARP). */
function labCapture(name: string): { pcap: string; ipOnly: string } {
  const dir = tempDir();
  const pcap = join(dir, 'c.pcap');
  writeFileSync(pcap, gunzipSync(readFileSync(fixture('lab', `${name}.pcap.gz`))));
  const ipOnly = join(dir, `${name}-ip.pcap`);
  execFileSync('tcpdump', ['-r', pcap, '-w', ipOnly, 'ip or ip6'], { stdio: 'ignore' });
  return { pcap, ipOnly };
}

function analyze(pcap: string): GraphDocument {
  const r = runCli(['analyze', pcap, '--inventory', INVENTORY, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as GraphDocument;
}

describe('real exporters → sky-plan collect', () => {
  after(() => Background.killAll());
  for (const [version, name] of [
    ['9', 'mpi-ring'],
    ['10', 'socket-shuffle'],
  ] as const) {
    it(`${version === '9' ? 'NetFlow v9' : 'IPFIX'}: the graph equals analyze of the capture's IP packets (${name})`, async () => {
      const { pcap, ipOnly } = labCapture(name);
      const exported = await softflowd(pcap, ['-v', version]);
      const expected = analyze(ipOnly);
      assert.ok(expected.edges.length >= 8);
      assert.deepEqual(edgeMap(exported), edgeMap(expected));
      // softflowd reading a file stamps its flows weeks ahead of the wall clock: counted, and said.
      for (const w of exported.warnings)
        assert.match(w, /timed ahead of this aggregator's clock were counted/);
    });
  }

  it('1-in-10 sampling (softflowd -s 10) is scaled back to an estimate of the whole', async () => {
    const { pcap, ipOnly } = labCapture('mpi-alltoall');
    const exported = await softflowd(pcap, ['-v', '10', '-s', '10']);
    const expected = analyze(ipOnly);
    const ratio = exported.summary.edgeBytes / expected.summary.edgeBytes;
    assert.ok(ratio > 0.85 && ratio < 1.15, `sampled estimate / truth = ${ratio}`);
  });

  for (const plugin of ['sfprobe', 'nfprobe'] as const) {
    it(`pmacct ${plugin === 'sfprobe' ? 'sFlow v5' : 'NetFlow v5'}: the graph equals analyze of the capture's IP packets`, async () => {
      const { pcap, ipOnly } = labCapture('mpi-ring');
      const exported = await pmacctd(pcap, plugin, 1);
      const expected = analyze(ipOnly);
      assert.ok(expected.edges.length >= 8);
      assert.deepEqual(edgeMap(exported), edgeMap(expected));
    });
  }

  it('sFlow 1-in-10 packet sampling (pmacct sampling_rate 10) is scaled back to an estimate of the whole', async () => {
    const { pcap, ipOnly } = labCapture('mpi-ring');
    const exported = await pmacctd(pcap, 'sfprobe', 10);
    const ratio = exported.summary.edgeBytes / analyze(ipOnly).summary.edgeBytes;
    assert.ok(ratio > 0.85 && ratio < 1.15, `sampled estimate / truth = ${ratio}`);
  });
});
