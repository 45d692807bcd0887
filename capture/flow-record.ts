import { ipToString, macToString } from './addresses.js';
import type { FlowSide } from './attribution.js';
import { type FlowTable, KEY_WORDS } from './flow-table.js';

/** One bidirectional flow as written by `analyze --flows` (NDJSON, one per line). Index 0 is a→b. */
export interface FlowRecord {
  capture: string;
  /** 'ip' for IP packets; 'l2' for other frames, whose addresses are MACs and `protocol` the EtherType. */
  layer: 'ip' | 'l2';
  protocol: number;
  /** True for endpoint-pair records made when the table neared its limit: ports are then 0. */
  aggregate: boolean;
  vlan: number | null;
  vni: number | null;
  a: { address: string; port: number; mac: string | null; node: string };
  b: { address: string; port: number; mac: string | null; node: string };
  packets: [number, number];
  bytes: [number, number];
  l3Bytes: [number, number];
  tcpFlags: [number, number];
  first: number;
  last: number;
}

const NONE32 = 0xffffffff;

/** Reads one endpoint of a slot in the form attribution takes. */
export function flowSide(table: FlowTable, slot: number, side: 0 | 1): FlowSide {
  const base = slot * KEY_WORDS;
  const kind = table.keys[base] as number;
  const vlan = table.keys[base + 10] as number;
  const vni = table.keys[base + 11] as number;
  const start = base + 1 + side * 4;
  return {
    version: kind & 0xff,
    words: table.keys.subarray(start, start + 4),
    mac: table.mac(slot, side),
    vlan: vlan === NONE32 ? -1 : vlan,
    vni: vni === NONE32 ? -1 : vni,
  };
}

export function sideAddress(side: FlowSide): string {
  if (side.version !== 0) return ipToString(side.version, side.words);
  return macToString((side.words[0] as number) * 4294967296 + (side.words[1] as number));
}

export function flowRecord(
  table: FlowTable,
  slot: number,
  capture: string,
  nodeA: string,
  nodeB: string,
): FlowRecord {
  const base = slot * KEY_WORDS;
  const kind = table.keys[base] as number;
  const ports = table.keys[base + 9] as number;
  const a = flowSide(table, slot, 0);
  const b = flowSide(table, slot, 1);
  const pair = (of: (slot: number, dir: number) => number): [number, number] => [
    of.call(table, slot, 0),
    of.call(table, slot, 1),
  ];
  return {
    capture,
    layer: a.version === 0 ? 'l2' : 'ip',
    protocol: (kind >>> 8) & 0xffff,
    aggregate: table.isAggregate(slot),
    vlan: a.vlan < 0 ? null : a.vlan,
    vni: a.vni < 0 ? null : a.vni,
    a: {
      address: sideAddress(a),
      port: ports >>> 16,
      mac: a.mac < 0 ? null : macToString(a.mac),
      node: nodeA,
    },
    b: {
      address: sideAddress(b),
      port: ports & 0xffff,
      mac: b.mac < 0 ? null : macToString(b.mac),
      node: nodeB,
    },
    packets: pair(table.packets),
    bytes: pair(table.bytes),
    l3Bytes: pair(table.l3Bytes),
    tcpFlags: pair(table.tcpFlags),
    first: table.first(slot),
    last: table.last(slot),
  };
}
