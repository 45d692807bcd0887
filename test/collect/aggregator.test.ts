import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { emptyStats } from '../../capture/decode-stats.js';
import { readCapture } from '../../capture/files/read-capture.js';
import { emptyFlow } from '../../capture/flow-export/exported-flow.js';
import { FLOW_TABLE_DEFAULTS } from '../../capture/flow-table.js';
import { FLOW_FLAG, WINDOW_SCHEMA, type WindowDocument } from '../../capture/window-document.js';
import { Aggregator, RefusedWindow } from '../../src/collect/aggregator.js';
import { Collector } from '../../src/collect/collector.js';
import { readWindow } from '../../src/collect/read-window.js';
import { graphDocument } from '../../src/graph/graph-document.js';
import type { GraphDocument } from '../../src/graph/graph-model.js';
import { loadInventory } from '../../src/inventory/load-inventory.js';
import { arpFrame, frame, pcapFile, runCli, tempDir } from '../helpers.js';
import { aggregatorUrl, Background } from './background.js';

function window(seq: number, overrides: Partial<WindowDocument> = {}): WindowDocument {
  return {
    schema: WINDOW_SCHEMA,
    id: `c1/100/${seq}`,
    collector: 'c1',
    host: 'hv1',
    instance: '100',
    seq,
    window: { seconds: 60, index: 29_000_000 + seq },
    byteCount: 'wire',
    interfaces: [{ name: 'vnet0', received: 10, dropped: 1, ifDropped: 0, countedElsewhere: 0 }],
    decode: emptyStats(),
    vms: [{ name: 'web', mac: '52:54:00:00:00:01', interface: 'vnet0' }],
    arp: [],
    announcements: [],
    endpoints: [
      [4, '10.0.0.1', '52:54:00:00:00:01', null, null],
      [4, '10.0.0.2', '52:54:00:00:00:02', null, null],
    ],
    flows: [[0, 1, 1500, 1, FLOW_FLAG.newFlow]],
    ...overrides,
  };
}

describe('aggregator', () => {
  after(() => Background.killAll());
  it('counts a window once however often it arrives, names libvirt VMs, reports drops', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    assert.equal(agg.addWindow(window(0)), true);
    assert.equal(agg.addWindow(window(0)), false);
    assert.equal(agg.addWindow(window(1)), true);
    assert.equal(agg.addWindow(window(1)), false);
    agg.settleAll();
    const analysis = agg.analysis();
    const edge = [...analysis.traffic.edges.values()][0];
    assert.deepEqual([edge?.bytes, edge?.packets, edge?.flows], [3000, 2, 2]);
    assert.equal(analysis.traffic.nodes[0]?.id, 'web');
    assert.equal(analysis.traffic.nodes[0]?.host, 'hv1');
    assert.deepEqual(analysis.captures[0]?.interfaces, [
      { name: 'vnet0', received: 20, dropped: 2, ifDropped: 0, countedElsewhere: 0 },
    ]);
    assert.match(analysis.warnings.join('\n'), /vnet0: 2 frames dropped by the kernel/);
    assert.match(analysis.warnings.join('\n'), /2 windows were received again/);
  });

  it('counts a window once every collector still sending went past it, not waiting for a silent one', () => {
    // The clock at the windows' time (window index 29,000,000 of 60 s).
    let now = 29_000_000 * 60_000;
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire', now: () => now });
    const other = (seq: number) =>
      window(seq, { collector: 'c2', host: 'hv2', id: `c2/100/${seq}`, vms: [], flows: [] });
    agg.addWindow(other(0));
    agg.addWindow(window(0));
    agg.addWindow(window(1));
    agg.addWindow(window(2));
    // c2 has not gone past window 0: none of c1's windows is counted yet.
    assert.equal(agg.traffic.edges.size, 0);
    agg.addWindow(other(1));
    assert.equal([...agg.traffic.edges.values()][0]?.packets, 1);
    // c2 falls silent for more than three windows: it no longer holds c1's windows 1 and 2 back.
    now += 4 * 60_000;
    agg.addWindow(window(3));
    assert.equal([...agg.traffic.edges.values()][0]?.packets, 3);
  });

  it('after settleAll (the journal replayed, before listening), later windows still wait their turn', () => {
    const now = 29_000_000 * 60_000;
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire', now: () => now });
    agg.addWindow(window(0));
    agg.settleAll();
    assert.equal([...agg.traffic.edges.values()][0]?.packets, 1);
    agg.addWindow(window(1));
    assert.equal([...agg.traffic.edges.values()][0]?.packets, 1, 'window 1 waits for a later one');
    agg.addWindow(window(2));
    assert.equal([...agg.traffic.edges.values()][0]?.packets, 2);
  });

  it('a restarted collector (new instance) counts from its first window', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    agg.addWindow(window(5));
    assert.equal(agg.addWindow(window(0, { instance: '200', id: 'c1/200/0' })), true);
    agg.settleAll();
    assert.equal([...agg.traffic.edges.values()][0]?.bytes, 3000);
  });

  it('a restarted aggregator replays its journal: the graph is back and every window id still known', async () => {
    const journal = join(tempDir(), 'journal.ndjson');
    const start = async () => {
      const agg = new Background(['collect', '--listen', '127.0.0.1:0', '--journal', journal, '--json']);
      return { agg, url: await aggregatorUrl(agg) };
    };
    const post = async (url: string, doc: WindowDocument) =>
      (
        (await (await fetch(`${url}/v1/windows`, { method: 'POST', body: JSON.stringify(doc) })).json()) as {
          status: string;
        }
      ).status;
    let { agg, url } = await start();
    for (const seq of [0, 1, 2]) assert.equal(await post(url, window(seq)), 'taken');
    await agg.stop('SIGKILL');
    ({ agg, url } = await start());
    assert.equal(await post(url, window(2)), 'duplicate');
    assert.equal(await post(url, window(3)), 'taken');
    assert.equal(await agg.stop(), 0, agg.stderr);
    const graph = JSON.parse(agg.stdout) as GraphDocument;
    assert.deepEqual(
      graph.edges.map((e) => [e.source, e.target, e.bytes, e.packets]),
      [['web', '10.0.0.2', 4 * 1500, 4]],
    );
  });

  it('refuses what it cannot count, whole: wrong byte count, broken documents', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire' });
    assert.throws(() => agg.addWindow(window(0, { byteCount: 'payload' })), RefusedWindow);
    assert.equal(agg.traffic.edges.size, 0);
    const broken = JSON.parse(JSON.stringify(window(0)));
    broken.flows[0][1] = 7;
    assert.throws(() => readWindow(broken), /flows\.0: .*endpoints below 2/);
    assert.throws(() => readWindow({ ...window(0), seq: -1 }), /^Error: seq: /);
    assert.throws(() => readWindow({ ...window(0), schema: 'other' }), /schema/);
    assert.throws(() => readWindow('nonsense'), /document/);
  });
});

describe('aggregator: what it is sent is checked before it counts', () => {
  after(() => Background.killAll());
  const CLOCK = (29_000_000 + 20) * 60_000;
  const seriesLengths = (agg: Aggregator) => [...agg.traffic.edges.values()].map((e) => e.series?.size);

  it('a window or a flow export from the far future is refused and never prunes history', () => {
    const agg = new Aggregator({
      windowSeconds: 60,
      byteCount: 'wire',
      retainWindows: 100,
      now: () => CLOCK,
    });
    for (let seq = 0; seq < 10; seq++) agg.addWindow(window(seq));
    agg.settleAll();
    assert.deepEqual(seriesLengths(agg), [10]);
    for (const index of [1e12, 29_000_000 + 40]) {
      assert.throws(
        () => agg.addWindow(window(10, { window: { seconds: 60, index } })),
        /ahead of this aggregator's clock/,
      );
    }
    // NetFlow v5's unix_secs at its maximum: counted, at the time it arrived.
    const flow = { ...emptyFlow(), bytes: 100, packets: 1, first: 0xffffffff, last: 0xffffffff };
    flow.src[0] = 0x0a000001;
    flow.dst[0] = 0x0a000002;
    assert.equal(agg.addExportedFlows('192.0.2.1', [flow]), 1);
    agg.addWindow(window(10));
    agg.settleAll();
    const series = [...agg.traffic.edges.values()].map((e) => e.series?.size).sort();
    assert.deepEqual(series, [1, 11]);
    const exported = [...agg.traffic.edges.values()].find((e) => e.bytes === 100 + 14);
    assert.deepEqual([...(exported?.series?.keys() ?? [])], [Math.floor(CLOCK / 60_000)]);
  });

  it("a seq far ahead of its collector is refused; the collector's next windows are still taken", () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire', now: () => CLOCK });
    agg.addWindow(window(0));
    assert.throws(() => readWindow(JSON.parse(JSON.stringify(window(1, { seq: 1e300 })))), /seq/);
    assert.throws(() => agg.addWindow(window(1, { seq: 2 ** 40 })), /past this collector's last/);
    assert.equal(agg.addWindow(window(1)), true);
    assert.equal(agg.addWindow(window(2)), true);
  });

  it('non-finite, huge or misplaced numbers are refused', () => {
    const agg = new Aggregator({ windowSeconds: 60, byteCount: 'wire', now: () => CLOCK });
    const text = JSON.stringify(window(0));
    // 1e400 is what JSON has for Infinity.
    for (const [from, to] of [
      ['"seconds":60', '"seconds":1e400'],
      ['"seconds":60', '"seconds":1e9'],
      ['"bytes":0', '"bytes":1e400'],
      ['"received":10', '"received":1e300'],
      [',1500,', ',1e400,'],
      ['"announcements":[]', '"announcements":[["rarp","52:54:00:00:00:01",1e300]]'],
    ]) {
      assert.ok(text.includes(from as string), from);
      assert.throws(() => readWindow(JSON.parse(text.replace(from as string, to as string))), Error, to);
    }
    const misplaced = window(0, { announcements: [['rarp', '52:54:00:00:00:01', 1e9]] });
    assert.throws(() => agg.addWindow(readWindow(misplaced)), /outside its window/);
    assert.equal(agg.addWindow(window(0)), true);
  });

  it('collect on loopback: concurrent large bodies stay bounded, status answers, SIGINT exits 0', async () => {
    const agg = new Background(['collect', '--listen', '127.0.0.1:0', '--json']);
    const url = await aggregatorUrl(agg);
    const body = Buffer.alloc(60 << 20, 0x20); // 60 MB of spaces: under the per-body bound
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`${url}/v1/windows`, { method: 'POST', body }).then(
          (r) => r.status,
          () => 0, // the server closed the connection after answering
        ),
      ),
    );
    const started = Date.now();
    const status = await fetch(`${url}/v1/status`);
    assert.equal(status.status, 200);
    assert.ok(Date.now() - started < 1000);
    assert.ok(
      answers.some((a) => a === 429 || a === 0),
      `answers ${answers}`,
    );
    assert.ok(
      answers.every((a) => a === 400 || a === 429 || a === 0),
      `answers ${answers}`,
    );
    const hwm =
      Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${agg.proc.pid}/status`, 'utf8'))?.[1]) * 1024;
    assert.ok(hwm < 512e6, `peak RSS ${hwm}`);
    assert.equal(
      (await fetch(`${url}/v1/windows`, { method: 'POST', body: JSON.stringify(window(0)) })).status,
      200,
    );
    assert.equal(await agg.stop('SIGINT'), 0, agg.stderr);
    assert.equal((JSON.parse(agg.stdout) as GraphDocument).edges.length, 1);
  });
});

describe('live collectors and a migration', () => {
  const WEB = '02:00:00:00:00:10';
  const DB = '02:00:00:00:00:20';
  const udp = (ts: number) => ({
    ts,
    data: Buffer.concat([
      frame.eth(DB, WEB, 0x0800),
      frame.ipv4('10.0.0.10', '10.0.0.20', 17, 108),
      frame.udp(4000, 5000, 100),
      Buffer.alloc(100),
    ]),
  });

  /** Runs one hypervisor's capture through a real Collector, its clock driven by the frames' times. */
  async function collectorWindows(pcap: string, host: string): Promise<WindowDocument[]> {
    const frames: { data: Buffer; caplen: number; origLen: number; ts: number; linkType: number }[] = [];
    await readCapture(pcap, {
      frame: (data, offset, caplen, origLen, ts, linkType) =>
        frames.push({
          data: Buffer.from(data.subarray(offset, offset + caplen)),
          caplen,
          origLen,
          ts,
          linkType,
        }),
    });
    const collector = new Collector({
      collector: host,
      host,
      windowSeconds: 10,
      flowTable: FLOW_TABLE_DEFAULTS,
      vms: [],
    });
    const docs: WindowDocument[] = [];
    const none = () => [];
    for (const f of frames) {
      const doc = collector.tick(f.ts, none);
      if (doc !== undefined) docs.push(doc);
      collector.frame(f.data, 0, f.caplen, f.origLen, f.ts, f.linkType);
    }
    docs.push(collector.flush(none));
    return docs.map((d) => readWindow(JSON.parse(JSON.stringify(d))));
  }

  it('a VM that announced itself behind another hypervisor counts there, as analyze counts it', async () => {
    // web and db run on hv-a; web migrates to hv-b (cloud b) and announces itself there at t=120 (RARP
    // burst); its traffic to db after that crosses clouds and is seen on both hypervisors.
    const dir = tempDir();
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    const rarp = Array.from({ length: 5 }, (_, i) => ({
      data: arpFrame(0x8035, 3, WEB, '0.0.0.0', '0.0.0.0'),
      ts: 120 + i * 0.1,
    }));
    const after = Array.from({ length: 5 }, (_, i) => udp(121 + i));
    writeFileSync(a, pcapFile([...Array.from({ length: 11 }, (_, i) => udp(100 + i)), ...after]));
    writeFileSync(b, pcapFile([...rarp, ...after]));
    const inventory = {
      clouds: [{ name: 'a' }, { name: 'b' }],
      hosts: [
        { name: 'hv-a', cloud: 'a' },
        { name: 'hv-b', cloud: 'b' },
      ],
      vms: [
        { name: 'web', host: 'hv-a', nics: [{ mac: WEB, ips: ['10.0.0.10'] }] },
        { name: 'db', host: 'hv-a', nics: [{ mac: DB, ips: ['10.0.0.20'] }] },
      ],
    };
    const invPath = join(dir, 'inventory.json');
    writeFileSync(invPath, JSON.stringify(inventory));
    const agg = new Aggregator({
      inventory: await loadInventory(invPath),
      windowSeconds: 10,
      byteCount: 'wire',
    });
    // hv-a's windows arrive first: each direction still counts once, as windows settle before counting.
    for (const doc of [...(await collectorWindows(a, 'hv-a')), ...(await collectorWindows(b, 'hv-b'))])
      agg.addWindow(doc);
    agg.settleAll();
    const analysis = agg.analysis();
    const live = graphDocument(analysis);
    // analyze reads the captures one after another: the destination's (with the announcement) goes first.
    const r = runCli(['analyze', `hv-b=${b}`, `hv-a=${a}`, '-i', invPath, '--window', '10s', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const file = JSON.parse(r.stdout) as GraphDocument;
    const webDb = (g: GraphDocument) => g.edges.find((e) => e.source === 'web' && e.target === 'db');
    assert.equal(webDb(file)?.packets, 16, 'the 5 packets after the move count once');
    assert.equal(webDb(live)?.packets, 16);
    assert.deepEqual(live.edges, file.edges);
    assert.deepEqual(live.dedup, file.dedup);
    assert.deepEqual(
      live.mobility.map((e) => [e.kind, e.vm, e.host, e.frames]),
      [['rarp', 'web', 'hv-b', 5]],
    );
    assert.deepEqual(
      live.nodes.find((n) => n.id === 'web')?.moved,
      file.nodes.find((n) => n.id === 'web')?.moved,
    );
    assert.deepEqual(live.summary.cloudPairs, file.summary.cloudPairs);
  });
});
