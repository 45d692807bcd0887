import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipToString, macToString } from '../../capture/addresses.js';
import { GROUP } from '../../capture/decode/packet.js';
import type { ExportedFlow } from '../../capture/flow-export/exported-flow.js';
import { FlowExportDecoder } from '../../capture/flow-export/flow-export-decoder.js';
import { tcpFrame } from '../helpers.js';

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u64 = (n: number) => Buffer.concat([u32(Math.floor(n / 4294967296)), u32(n % 4294967296)]);
const ip = (text: string) => Buffer.from(text.split('.').map(Number));
const mac = (text: string) => Buffer.from(text.replace(/:/g, ''), 'hex');
const set = (id: number, ...body: Buffer[]) => {
  const b = Buffer.concat(body);
  return Buffer.concat([u16(id), u16(4 + b.length), b]);
};
const fields = (...pairs: [number, number][]) =>
  Buffer.concat(pairs.flatMap(([id, len]) => [u16(id), u16(len)]));

const SECS = 1_700_000_000;
const UPTIME = 500_000;

function netflow9(...sets: Buffer[]): Buffer {
  return Buffer.concat([u16(9), u16(sets.length), u32(UPTIME), u32(SECS), u32(1), u32(7), ...sets]);
}

function ipfix(...sets: Buffer[]): Buffer {
  const body = Buffer.concat(sets);
  return Buffer.concat([u16(10), u16(16 + body.length), u32(SECS), u32(1), u32(3), body]);
}

const V9_FIELDS = fields(
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [1, 4],
  [2, 4],
  [22, 4],
  [21, 4],
  [56, 6],
  [80, 6],
  [58, 2],
);
const v9Record = (src: string, dst: string, bytes: number, packets: number, vlan = 0) =>
  Buffer.concat([
    ip(src),
    ip(dst),
    u16(40000),
    u16(5201),
    u8(6),
    u32(bytes),
    u32(packets),
    u32(UPTIME - 3000),
    u32(UPTIME - 1000),
    mac('02:00:00:00:00:01'),
    mac('02:00:00:00:00:02'),
    u16(vlan),
  ]);

function decodeAll(decoder: FlowExportDecoder, ...datagrams: Buffer[]): ExportedFlow[] {
  return datagrams.flatMap((d) => decoder.decode(d, '192.0.2.1', SECS));
}

describe('NetFlow v9 (RFC 3954)', () => {
  it('reads records through their template, with times from the uptime clock', () => {
    const decoder = new FlowExportDecoder();
    const [a, b, ...rest] = decodeAll(
      decoder,
      netflow9(set(0, u16(256), u16(12), V9_FIELDS)),
      netflow9(
        set(256, v9Record('10.0.0.1', '10.0.0.2', 15000, 10), v9Record('10.0.0.2', '10.0.0.1', 800, 12, 42)),
      ),
    );
    assert.equal(rest.length, 0);
    assert.ok(a !== undefined && b !== undefined);
    assert.equal(ipToString(4, a.src), '10.0.0.1');
    assert.equal(ipToString(4, a.dst), '10.0.0.2');
    assert.deepEqual([a.srcPort, a.dstPort, a.protocol, a.bytes, a.packets], [40000, 5201, 6, 15000, 10]);
    assert.equal(macToString(a.srcMac), '02:00:00:00:00:01');
    assert.equal(macToString(a.dstMac), '02:00:00:00:00:02');
    assert.equal(a.first, SECS - 3);
    assert.equal(a.last, SECS - 1);
    assert.equal(a.vlan, -1, 'VLAN 0 means untagged');
    assert.equal(b.vlan, 42);
    assert.deepEqual(decoder.stats.get('192.0.2.1')?.problems, {});
  });

  it('scales by the sampling interval an options record announces', () => {
    const decoder = new FlowExportDecoder();
    const optionsTemplate = Buffer.concat([
      u16(300),
      u16(4),
      u16(8),
      fields([1, 4]),
      fields([34, 4], [35, 1]),
    ]);
    const [f] = decodeAll(
      decoder,
      netflow9(set(1, optionsTemplate, u16(0)), set(0, u16(256), u16(12), V9_FIELDS)),
      netflow9(set(300, u32(0), u32(100), u8(2), Buffer.alloc(3))),
      netflow9(set(256, v9Record('10.0.0.1', '10.0.0.2', 1500, 1))),
    );
    assert.deepEqual([f?.bytes, f?.packets], [150000, 100]);
  });

  it('counts data for an unknown template instead of guessing', () => {
    const decoder = new FlowExportDecoder();
    assert.deepEqual(decodeAll(decoder, netflow9(set(999, v9Record('10.0.0.1', '10.0.0.2', 1, 1)))), []);
    assert.equal(decoder.stats.get('192.0.2.1')?.problems['unsupported:unknown_template'], 1);
  });
});

describe('IPFIX (RFC 7011)', () => {
  const template = Buffer.concat([
    u16(400),
    u16(9),
    fields([8, 4], [12, 4], [2, 8], [1, 8], [152, 8], [153, 8], [351, 8]),
    // an enterprise-specific element (skipped) and a variable-length interfaceName
    u16(0x8000 | 1000),
    u16(2),
    u32(29305),
    fields([82, 65535]),
  ]);
  const record = (bytes: number) =>
    Buffer.concat([
      ip('10.1.0.1'),
      ip('224.0.0.5'),
      u64(3),
      u64(bytes),
      u64(SECS * 1000 + 250),
      u64(SECS * 1000 + 750),
      Buffer.from([1, 0, 0, 0, 0, 0x01, 0x23, 0x45]),
      u16(7),
      u8(4),
      Buffer.from('tap0'),
    ]);

  it('reads enterprise and variable-length fields, millisecond times and the VXLAN segment', () => {
    const decoder = new FlowExportDecoder();
    const [f] = decodeAll(decoder, ipfix(set(2, template)), ipfix(set(400, record(300), Buffer.alloc(3))));
    assert.ok(f !== undefined);
    assert.deepEqual(
      [f.packets, f.bytes, f.first, f.last, f.vni],
      [3, 300, SECS + 0.25, SECS + 0.75, 0x12345],
    );
    assert.equal(f.group, GROUP.multicast);
    assert.deepEqual(decoder.stats.get('192.0.2.1')?.problems, {});
  });

  it("Open vSwitch's records: direction, the ports by name, and its tunnel key as the VNI", () => {
    const name = (s: string) => Buffer.concat([u8(s.length), Buffer.from(s)]);
    const ovsTemplate = Buffer.concat([
      u16(401),
      u16(10),
      fields([61, 1], [10, 4], [82, 65535], [14, 4], [82, 65535], [8, 4], [12, 4], [1, 8], [2, 8]),
      u16(892 | 0x8000),
      u16(65535),
      u32(6876), // VMware's enterprise number: tunnelKey
    ]);
    const ovsRecord = (direction: number, vni: number) =>
      Buffer.concat([
        u8(direction),
        u32(7),
        name('vnet3'),
        u32(9),
        name('vxlan0'),
        ip('10.0.0.1'),
        ip('10.0.0.2'),
        u64(1500),
        u64(1),
        u8(3),
        Buffer.from([vni >> 16, (vni >> 8) & 0xff, vni & 0xff]),
      ]);
    const flows = decodeAll(
      new FlowExportDecoder(),
      ipfix(set(2, ovsTemplate)),
      ipfix(set(401, ovsRecord(0, 5001), ovsRecord(1, 0x123456))),
    );
    assert.deepEqual(
      flows.map((f) => [f.egress, f.inPort, f.outPort, f.vni, f.bytes]),
      [
        [false, 'vnet3', 'vxlan0', 5001, 1500],
        [true, 'vnet3', 'vxlan0', 0x123456, 1500],
      ],
    );
  });

  it('forgets a withdrawn template; options give 1-in-N packet sampling', () => {
    const decoder = new FlowExportDecoder();
    const options = Buffer.concat([u16(500), u16(3), u16(1), fields([149, 4], [305, 4], [306, 4])]);
    const flows = decodeAll(
      decoder,
      ipfix(set(2, template), set(3, options)),
      ipfix(set(500, u32(3), u32(1), u32(49))),
      ipfix(set(400, record(100))),
      ipfix(set(2, u16(400), u16(0))),
      ipfix(set(400, record(100))),
    );
    assert.deepEqual(
      flows.map((f) => [f.packets, f.bytes]),
      [[150, 5000]],
    );
    assert.equal(decoder.stats.get('192.0.2.1')?.problems['unsupported:unknown_template'], 1);
  });
});

describe('NetFlow v5 and sFlow v5', () => {
  it('NetFlow v5: fixed records, scaled by the header sampling interval', () => {
    const header = Buffer.concat([
      u16(5),
      u16(1),
      u32(UPTIME),
      u32(SECS),
      u32(0),
      u32(1),
      u8(0),
      u8(0),
      u16(0x4000 | 64),
    ]);
    const rec = Buffer.concat([
      ip('10.0.0.1'),
      ip('10.0.0.9'),
      ip('0.0.0.0'),
      u16(1),
      u16(2),
      u32(2),
      u32(120),
      u32(UPTIME - 2000),
      u32(UPTIME),
      u16(53),
      u16(5353),
      u8(0),
      u8(0),
      u8(17),
      u8(0),
      Buffer.alloc(8),
    ]);
    const [f] = decodeAll(new FlowExportDecoder(), Buffer.concat([header, rec]));
    assert.deepEqual([f?.packets, f?.bytes, f?.protocol, f?.first, f?.last], [128, 7680, 17, SECS - 2, SECS]);
  });

  it('sFlow v5: a sampled header is decoded like a captured frame and scaled 1-in-N', () => {
    const frame = tcpFrame('10.2.0.1', '10.2.0.2', 22, 50000, 1000);
    const header = Buffer.concat([frame.subarray(0, 128)]);
    const rawRecord = Buffer.concat([
      u32(1),
      u32(16 + header.length),
      u32(1),
      u32(frame.length + 4),
      u32(4),
      u32(header.length),
      header,
    ]);
    const sample = Buffer.concat([
      u32(1),
      u32(0),
      u32(512),
      u32(0),
      u32(0),
      u32(1),
      u32(2),
      u32(1),
      rawRecord,
    ]);
    const datagram = Buffer.concat([
      u32(5),
      u32(1),
      ip('192.0.2.1'),
      u32(0),
      u32(1),
      u32(1000),
      u32(2),
      u32(1),
      u32(sample.length),
      sample,
      // a counter sample, skipped by its length
      u32(2),
      u32(8),
      Buffer.alloc(8),
    ]);
    const [f, ...rest] = decodeAll(new FlowExportDecoder(), datagram);
    assert.equal(rest.length, 0);
    assert.ok(f !== undefined);
    assert.equal(ipToString(4, f.src), '10.2.0.1');
    assert.deepEqual(
      [f.srcPort, f.dstPort, f.packets, f.bytes, f.frameBytes],
      [22, 50000, 512, frame.length * 512, true],
    );
    assert.equal(macToString(f.srcMac), '02:00:00:00:00:01');
    // The same sample from a tunnel port: Open vSwitch adds the VNI it came by (extended_vni_ingress).
    const vniRecord = Buffer.concat([u32(1030), u32(4), u32(5001)]);
    const withVni = Buffer.concat([
      datagram.subarray(0, 28),
      u32(1),
      u32(sample.length + vniRecord.length),
      sample.subarray(0, 28),
      u32(2),
      sample.subarray(32),
      vniRecord,
      datagram.subarray(28 + 8 + sample.length),
    ]);
    const decoder = new FlowExportDecoder();
    const [g] = decodeAll(decoder, withVni);
    assert.equal(g?.vni, 5001);
    assert.deepEqual(decoder.stats.get('192.0.2.1')?.problems, {});
    assert.equal(f.vni, -1);
  });
});

describe('hostile datagrams', () => {
  const valid = [
    netflow9(set(0, u16(256), u16(12), V9_FIELDS), set(256, v9Record('10.0.0.1', '10.0.0.2', 1, 1))),
    ipfix(
      set(2, u16(256), u16(3), fields([8, 4], [1, 4], [82, 65535])),
      set(256, ip('10.0.0.1'), u32(9), u8(2), u16(0)),
    ),
  ];

  it('every truncation and 5,000 random corruptions are counted, never thrown past a decoder', () => {
    const decoder = new FlowExportDecoder();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let datagrams = 0;
    for (const d of valid) {
      for (let n = 0; n < d.length; n++) {
        decoder.decode(d.subarray(0, n), 'fuzz', 0);
        datagrams++;
      }
      for (let i = 0; i < 2500; i++) {
        const bad = Buffer.from(d);
        for (let k = 0; k < 3; k++) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
        decoder.decode(bad, 'fuzz', 0);
        datagrams++;
      }
    }
    const stats = decoder.stats.get('fuzz');
    assert.equal(stats?.datagrams, datagrams);
    assert.equal(stats?.problems['malformed:out_of_bounds'], undefined, 'every bound is checked explicitly');
    assert.ok(Object.keys(stats?.problems ?? {}).length > 3, JSON.stringify(stats?.problems));
  });

  it('a template flood stops at the per-domain and per-exporter limits', () => {
    const decoder = new FlowExportDecoder({ perDomain: 16, domains: 4 });
    for (let exporter = 0; exporter < 10; exporter++) {
      for (let i = 0; i < 100; i++) {
        const templates = Array.from({ length: 10 }, (_, k) =>
          Buffer.concat([u16(256 + i * 10 + k), u16(1), fields([1, 4])]),
        );
        decoder.decode(netflow9(set(0, ...templates)), `198.51.100.${exporter}`, 0);
      }
    }
    assert.equal(decoder.templateCount, 16 * 4);
    const refused = [...decoder.stats.values()].reduce(
      (n, s) => n + (s.problems['malformed:template_limit'] ?? 0),
      0,
    );
    assert.equal(refused, 4 * (1000 - 16) + 6 * 100);
  });
});
