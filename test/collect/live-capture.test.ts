// @integration: needs root (veths), tcpreplay
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { fixture, runCli, tempDir } from '../helpers.js';
import { aggregatorUrl, Background, readWindowFiles } from './background.js';
import { captureOn, clusterPcap, replayableCopies, VethPair } from './veth.js';

const edges = (doc: Pick<GraphDocument, 'edges'>) =>
  new Map(doc.edges.map((e) => [`${e.source}>${e.target}`, [e.bytes, e.packets]]));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const tag = String(process.pid % 10000);

function analyze(pcaps: string[], inventory: string): GraphDocument {
  const r = runCli(['analyze', ...pcaps, '--inventory', inventory, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as GraphDocument;
}

describe('sky-plan capture on a veth (root)', () => {
  after(() => Background.killAll());
  const pairs: VethPair[] = [];
  after(() => {
    for (const p of pairs) p.remove();
  });

  it('tcpreplay of the cluster fixture: the captured windows make the same graph as analyze', async () => {
    const dir = tempDir();
    const pcap = clusterPcap(dir);
    const inventory = fixture('cluster', 'inventory.yaml');
    const veth = new VethPair(`skr${tag}`, `skc${tag}`);
    pairs.push(veth);
    const out = join(dir, 'windows');
    const capture = new Background(captureOn(veth, '--out', out, '--pcap-dir', join(dir, 'frames')));
    await capture.waitFor(/capturing on/);
    const sent = veth.replay(pcap);
    await sleep(1500);
    assert.equal(await capture.stop('SIGINT'), 0, capture.stderr);
    const { files, docs } = readWindowFiles(out);
    assert.ok(docs.length >= 2, 'one line per window');
    const received = docs.reduce((n, d) => n + (d.interfaces[0]?.received ?? 0), 0);
    const dropped = docs.reduce((n, d) => n + (d.interfaces[0]?.dropped ?? 0), 0);
    assert.equal(dropped, 0, `kernel drops (tcpreplay: ${sent})`);
    assert.ok(received >= 16182, `libpcap received ${received}`);
    const merged = runCli(['collect', ...files, '--inventory', inventory, '--window', '1s', '--json']);
    assert.equal(merged.status, 0, merged.stderr);
    const live = JSON.parse(merged.stdout) as GraphDocument;
    const file = analyze([pcap], inventory);
    assert.equal(file.edges.length, 143);
    assert.deepEqual(edges(live), edges(file));
    // The raw frames it kept (--pcap-dir) are the same traffic.
    const kept = readdirSync(join(dir, 'frames')).map((f) => join(dir, 'frames', f));
    assert.ok(kept.length >= 1 && kept.every((f) => f.includes(veth.capture)));
    assert.deepEqual(edges(analyze(kept, inventory)), edges(file));
    assert.match(capture.stderr, /captured 16182 frames .* kernel drops 0/);
  });

  it('two collectors and an aggregator, one collector killed and restarted mid-run: nothing lost or counted twice', async () => {
    const dir = tempDir();
    const parts = ['p1', 'p2', 'p3'].map((p) => join(dir, `${p}.pcap`));
    const whole = join(dir, 'whole.pcap');
    const source = gunzipSync(readFileSync(fixture('lab', 'mpi-alltoall.pcap.gz')));
    replayableCopies(source, parts);
    replayableCopies(source, [whole]);
    // Two hypervisors: each collector sees every frame, each direction must count once (its sender's).
    const inventory = JSON.parse(readFileSync(fixture('lab', 'inventory.json'), 'utf8'));
    for (const vm of inventory.vms) vm.host = vm.name === 'vm0' || vm.name === 'vm1' ? 'hv-a' : 'hv-b';
    const invPath = join(dir, 'inventory.json');
    writeFileSync(invPath, JSON.stringify(inventory));
    const a = new VethPair(`ska${tag}`, `sKa${tag}`);
    const b = new VethPair(`skb${tag}`, `sKb${tag}`);
    pairs.push(a, b);
    const graphPath = join(dir, 'graph.json');
    const tokenFile = join(dir, 'token');
    const token = 'a-shared-secret-of-the-cluster';
    writeFileSync(tokenFile, `${token}\n`);
    const agg = new Background([
      'collect',
      '--token-file',
      tokenFile,
      '--listen',
      '127.0.0.1:0',
      '--inventory',
      invPath,
      '--window',
      '1s',
      '-o',
      graphPath,
      '--json',
    ]);
    const url = await aggregatorUrl(agg);
    const collector = (veth: VethPair, host: string) =>
      new Background([
        'capture',
        '-i',
        veth.capture,
        '--host',
        host,
        '--window',
        '1s',
        '--to',
        url,
        '--spool',
        join(dir, `spool-${host}`),
        '--token-file',
        tokenFile,
        '--out',
        join(dir, `ndjson-${host}`),
      ]);
    const ca = collector(a, 'hv-a');
    let cb = collector(b, 'hv-b');
    await Promise.all([ca.waitFor(/capturing on/), cb.waitFor(/capturing on/)]);
    const replayBoth = (pcap: string) => {
      a.replay(pcap);
      b.replay(pcap);
    };
    replayBoth(parts[0] as string);
    await sleep(2500);
    // The aggregator stops answering: windows pile up in the collectors' spools (one in flight each).
    agg.proc.kill('SIGSTOP');
    replayBoth(parts[1] as string);
    await sleep(2500);
    cb.proc.kill('SIGKILL');
    await cb.stop('SIGKILL');
    agg.proc.kill('SIGCONT');
    cb = collector(b, 'hv-b');
    await cb.waitFor(/capturing on/);
    replayBoth(parts[2] as string);
    await sleep(2500);
    assert.equal(await ca.stop(), 0, ca.stderr);
    assert.equal(await cb.stop(), 0, cb.stderr);
    // A window sent again (a retry whose answer was lost) is recognised by its id.
    const ndjson = join(dir, 'ndjson-hv-a');
    const resend = readFileSync(join(ndjson, readdirSync(ndjson)[0] as string), 'utf8').split(
      '\n',
    )[0] as string;
    const authorization = { authorization: `Bearer ${token}` };
    const stranger = await fetch(`${url}/v1/windows`, { method: 'POST', body: resend });
    assert.equal(stranger.status, 401, 'no token, no entry');
    const answer = await fetch(`${url}/v1/windows`, { method: 'POST', body: resend, headers: authorization });
    assert.deepEqual((await answer.json()).status, 'duplicate');
    const status = (await (await fetch(`${url}/v1/status`, { headers: authorization })).json()) as {
      duplicateWindows: number;
    };
    assert.equal(await agg.stop(), 0, agg.stderr);
    const merged = JSON.parse(agg.stdout) as GraphDocument;
    assert.deepEqual(JSON.parse(readFileSync(graphPath, 'utf8')).edges, merged.edges);
    const truth = analyze([whole], invPath);
    assert.ok(truth.edges.length >= 12);
    assert.deepEqual(edges(merged), edges(truth));
    assert.ok(merged.dedup.packets > 0, 'frames seen by both hypervisors were counted once');
    process.stderr.write(`# windows received twice and counted once: ${status.duplicateWindows}\n`);
  });
});
