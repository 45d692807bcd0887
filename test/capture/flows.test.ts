import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { FlowRecord } from '../../capture/flow-record.js';
import { FLOW_TABLE_DEFAULTS } from '../../capture/flow-table.js';
import { analyzeCaptures } from '../../src/analyze.js';
import { fixture, frame, pcapFile, tcpFrame, writeTemp } from '../helpers.js';

async function flowsOf(path: string, maxFlows?: number) {
  const flows: FlowRecord[] = [];
  const analysis = await analyzeCaptures([{ path }], {
    onFlow: (r) => flows.push(r),
    ...(maxFlows === undefined ? {} : { flowTable: { ...FLOW_TABLE_DEFAULTS, maxFlows } }),
  });
  return { flows, analysis };
}

describe('flow records', () => {
  it('match FlowTest ground truth for VXLAN (inner and outer bytes per direction)', async () => {
    const truth = parse(readFileSync(fixture('captures', 'flowtest_vxlan.expected.yml'), 'utf8')).flows[0];
    const { flows, analysis } = await flowsOf(fixture('captures', 'flowtest_vxlan.pcap'));
    assert.equal(flows.length, 1);
    const f = flows[0] as FlowRecord;
    const forward = f.a.address === truth.src_ip ? 0 : 1;
    assert.equal(f.protocol, truth.protocol);
    assert.equal(f.vni, truth.vxlan_id);
    assert.equal(f.packets[forward], truth.packets);
    assert.equal(f.packets[1 - forward], truth['packets@rev']);
    assert.equal(f.l3Bytes[forward], truth.bytes);
    assert.equal(f.l3Bytes[1 - forward], truth['bytes@rev']);
    assert.equal((forward === 0 ? f.a : f.b).mac, truth.src_mac);
    // FlowTest's outer bytes are IP bytes: the tunnel's frames minus their 14-byte outer Ethernet header.
    const outer = analysis.tunnels.find((t) => t.source === '192.168.56.11');
    assert.equal((outer?.bytes ?? 0) - 14 * (outer?.packets ?? 0), truth.bytes_outer);
  });

  it('key both directions of a 5-tuple into one record with flags and times', async () => {
    const path = writeTemp(
      'conv.pcap',
      pcapFile([
        { data: tcpFrame('10.0.0.9', '10.0.0.1', 5000, 80, 0, 0x02), ts: 10 },
        { data: tcpFrame('10.0.0.1', '10.0.0.9', 80, 5000, 0, 0x12), ts: 11 },
        { data: tcpFrame('10.0.0.9', '10.0.0.1', 5000, 80, 100, 0x18), ts: 12 },
        { data: tcpFrame('10.0.0.9', '10.0.0.1', 5001, 80, 0, 0x02), ts: 13 },
      ]),
    );
    const { flows } = await flowsOf(path);
    assert.equal(flows.length, 2);
    const f = flows.find((x) => x.b.port === 5000) as FlowRecord;
    assert.equal(f.a.address, '10.0.0.1'); // canonical: the lower address is a
    assert.deepEqual(f.packets, [1, 2]);
    assert.deepEqual(f.bytes, [54, 54 + 154]);
    assert.deepEqual(f.tcpFlags, [0x12, 0x02 | 0x18]);
    assert.deepEqual([f.first, f.last], [10, 12]);
  });

  it('keep a bounded table under a flow explosion and lose no bytes', async () => {
    // A port scan: 200,000 distinct 5-tuples from one scanner, against a limit of 4,096 records.
    const frames = Array.from({ length: 200_000 }, (_, i) => ({
      data: tcpFrame(
        '192.0.2.66',
        `10.0.${(i >> 8) & 255}.${i & 255}`,
        40000 + (i % 20000),
        1 + (i % 1024),
        0,
        0x02,
      ),
      ts: 100 + i / 1e5,
    }));
    const { flows, analysis } = await flowsOf(writeTemp('scan.pcap', pcapFile(frames)), 4096);
    const totalPackets = flows.reduce((s, f) => s + f.packets[0] + f.packets[1], 0);
    const totalBytes = flows.reduce((s, f) => s + f.bytes[0] + f.bytes[1], 0);
    assert.equal(totalPackets, 200_000);
    assert.equal(totalBytes, 200_000 * 54);
    assert.ok(
      flows.some((f) => f.aggregate),
      'endpoint-pair aggregates appear',
    );
    assert.ok(analysis.flowTable.foldedPackets > 0);
    const edgeBytes = [...analysis.traffic.edges.values()].reduce((s, e) => s + e.bytes, 0);
    assert.equal(edgeBytes, 200_000 * 54);
    assert.match(analysis.warnings.join('\n'), /flow explosion/);
  });
});

describe('flow explosion between few hosts', () => {
  it('folds new 5-tuples into endpoint pairs: the table stays under its limit without draining early', async () => {
    // 100,000 SYNs from one scanner to 8 hosts, each to another port, against a limit of 4,096 records.
    const frames = Array.from({ length: 100_000 }, (_, i) => ({
      data: tcpFrame('192.0.2.66', `10.0.0.${1 + (i % 8)}`, 40000, 1 + Math.floor(i / 8), 0, 0x02),
      ts: 100 + i / 1e5,
    }));
    const { flows, analysis } = await flowsOf(writeTemp('few.pcap', pcapFile(frames)), 4096);
    assert.equal(analysis.flowTable.earlyDrains, 0);
    // 3/4 of the limit as 5-tuples, then one aggregate record per endpoint pair.
    assert.equal(flows.filter((f) => !f.aggregate).length, 3072);
    assert.equal(flows.filter((f) => f.aggregate).length, 8);
    assert.equal(analysis.flowTable.foldedPackets, 100_000 - 3072);
    assert.equal(
      flows.reduce((s, f) => s + f.packets[0] + f.packets[1], 0),
      100_000,
    );
  });
});

describe('wire bytes or payload bytes', () => {
  it('--bytes payload counts transport payload only: no headers, no padding, no bare acknowledgements', async () => {
    // 1,000 payload bytes one way, a bare ACK padded to 60 bytes the other way, a 100-byte UDP datagram.
    const ack = Buffer.concat([tcpFrame('10.0.0.2', '10.0.0.1', 80, 4000, 0), Buffer.alloc(6)]);
    const udp = Buffer.concat([
      frame.eth('02:00:00:00:00:02', '02:00:00:00:00:01', 0x0800),
      frame.ipv4('10.0.0.1', '10.0.0.3', 17, 8 + 100),
      frame.udp(5000, 53, 100),
      Buffer.alloc(100),
    ]);
    const path = writeTemp(
      'mix.pcap',
      pcapFile([{ data: tcpFrame('10.0.0.1', '10.0.0.2', 4000, 80, 1000) }, { data: ack }, { data: udp }]),
    );
    const count = async (count: 'wire' | 'payload') => {
      const records: FlowRecord[] = [];
      await analyzeCaptures([{ path }], {
        flowTable: { ...FLOW_TABLE_DEFAULTS, count },
        onFlow: (r) => records.push(r),
      });
      return records.map((r) => r.bytes[0] + r.bytes[1]).sort((a, b) => a - b);
    };
    assert.deepEqual(await count('payload'), [100, 1000]);
    assert.deepEqual(await count('wire'), [142, 14 + 20 + 20 + 1000 + 60]);
  });
});
