import { GROUP } from '../decode/packet.js';

/**
 * One direction of traffic as a flow exporter reported it (a NetFlow/IPFIX record, or an sFlow packet
 * sample), counts already multiplied by the sampling rate.
 */
export interface ExportedFlow {
  /** 4 or 6; 0 for a non-IP frame (sFlow), whose endpoints are then its MACs. */
  ipVersion: 0 | 4 | 6;
  src: Uint32Array;
  dst: Uint32Array;
  /** -1 when the record has none. */
  srcMac: number;
  dstMac: number;
  vlan: number;
  vni: number;
  /** The switch ports the frames entered and left by, as the exporter names them ('' when it does not). */
  inPort: string;
  outPort: string;
  /** The record says it was metered leaving the exporter (IPFIX flowDirection 1), not entering it. */
  egress: boolean;
  protocol: number;
  srcPort: number;
  dstPort: number;
  /** GROUP.* of the destination. */
  group: number;
  bytes: number;
  packets: number;
  /** True when `bytes` are whole frames (sFlow headers); false for IP bytes (NetFlow, IPFIX). */
  frameBytes: boolean;
  /** Seconds since the epoch; 0 when unknown. */
  first: number;
  last: number;
}

export function emptyFlow(): ExportedFlow {
  return {
    ipVersion: 4,
    src: new Uint32Array(4),
    dst: new Uint32Array(4),
    srcMac: -1,
    dstMac: -1,
    vlan: -1,
    vni: -1,
    inPort: '',
    outPort: '',
    egress: false,
    protocol: 0,
    srcPort: 0,
    dstPort: 0,
    group: GROUP.none,
    bytes: 0,
    packets: 0,
    frameBytes: false,
    first: 0,
    last: 0,
  };
}

/** Group destinations by address, for records that carry no MAC: IPv4 multicast/broadcast, IPv6 ff00::/8. */
export function ipGroup(version: number, dst: Uint32Array): number {
  const w = dst[0] as number;
  if (version === 4) {
    if (w === 0xffffffff) return GROUP.broadcast;
    return w >>> 28 === 0xe ? GROUP.multicast : GROUP.none;
  }
  return version === 6 && w >>> 24 === 0xff ? GROUP.multicast : GROUP.none;
}

/** What an exporter's datagrams amounted to: every datagram ends counted as ok or as one named problem. */
export interface ExportStats {
  datagrams: number;
  records: number;
  /** "malformed:<reason>" / "unsupported:<reason>" → datagrams or sets. */
  problems: Record<string, number>;
}

export function countProblem(stats: ExportStats, problem: string, n = 1): void {
  stats.problems[problem] = (stats.problems[problem] ?? 0) + n;
}
