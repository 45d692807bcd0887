import { Decoder } from '../decode/decoder.js';
import { ACCOUNT, GROUP, NONE } from '../decode/packet.js';
import { LINKTYPE } from '../link-types.js';
import { countProblem, type ExportedFlow, type ExportStats, emptyFlow } from './exported-flow.js';

/**
 * sFlow version 5 (sflow.org/sflow_version_5.txt), XDR-encoded: version(4)=5 agent_address_type(4)
 * (1 IPv4, 2 IPv6) agent_address(4|16) sub_agent_id(4) sequence(4) uptime ms(4) samples(4), then each
 * sample as data_format(4: enterprise << 12 | format) length(4) body. Flow samples (format 1, expanded
 * 3) carry sampling_rate and records; a raw packet header record (format 1: protocol(4) frame_length(4)
 * stripped(4) header_length(4) header) is decoded by the capture decoder and scaled 1-in-N. Counter
 * samples and other records are skipped by their length.
 */
const decoder = new Decoder();

export function decodeSflowV5(d: Buffer, stats: ExportStats, now: number): ExportedFlow[] {
  if (d.length < 28) {
    countProblem(stats, 'malformed:sflow_short_header');
    return [];
  }
  const addrType = d.readUInt32BE(4);
  if (addrType !== 1 && addrType !== 2) {
    countProblem(stats, 'malformed:sflow_bad_agent_address');
    return [];
  }
  let p = addrType === 1 ? 12 : 24;
  if (p + 16 > d.length) {
    countProblem(stats, 'malformed:sflow_short_header');
    return [];
  }
  const samples = d.readUInt32BE(p + 12);
  p += 16;
  const flows: ExportedFlow[] = [];
  for (let s = 0; s < samples; s++) {
    if (p + 8 > d.length) return cut(stats, flows);
    const format = d.readUInt32BE(p);
    const length = d.readUInt32BE(p + 4);
    const end = p + 8 + length;
    if (end > d.length) return cut(stats, flows);
    if (format === 1 || format === 3) {
      if (!flowSample(d, p + 8, end, format === 3, now, flows, stats)) return cut(stats, flows);
    } else if (format !== 2 && format !== 4) countProblem(stats, 'unsupported:sflow_sample_format');
    p = end;
  }
  return flows;
}

function cut(stats: ExportStats, flows: ExportedFlow[]): ExportedFlow[] {
  countProblem(stats, 'malformed:sflow_sample_cut');
  return flows;
}

/** sFlow tunnel structures (sflow.org, "sFlow Tunnel Structures"): extended_vni_egress and _ingress. */
const VNI_EGRESS = 1029;
const VNI_INGRESS = 1030;

function flowSample(
  d: Buffer,
  p: number,
  end: number,
  expanded: boolean,
  now: number,
  out: ExportedFlow[],
  stats: ExportStats,
): boolean {
  // seq, source id (1 word, or type + index), sampling_rate, pool, drops, input (1 or 2), output (1 or 2)
  const rateAt = p + (expanded ? 12 : 8);
  const recordsAt = p + (expanded ? 44 : 32);
  if (recordsAt > end) return false;
  const rate = Math.max(1, d.readUInt32BE(rateAt));
  const records = d.readUInt32BE(recordsAt - 4);
  let q = recordsAt;
  const sampled = out.length;
  let vni = -1;
  for (let r = 0; r < records; r++) {
    if (q + 8 > end) return false;
    const format = d.readUInt32BE(q);
    const length = d.readUInt32BE(q + 4);
    const next = q + 8 + length;
    if (next > end) return false;
    if (format === 1 && length >= 16) {
      const protocol = d.readUInt32BE(q + 8);
      const frameLength = d.readUInt32BE(q + 12);
      const stripped = d.readUInt32BE(q + 16);
      const headerLength = d.readUInt32BE(q + 20);
      if (q + 24 + headerLength > next) return false;
      if (protocol !== 1) countProblem(stats, 'unsupported:sflow_header_protocol');
      else {
        const f = sampledFrame(
          d,
          q + 24,
          headerLength,
          Math.max(headerLength, frameLength - stripped),
          rate,
          now,
        );
        if (f === undefined) countProblem(stats, 'unsupported:sflow_unaccountable_header');
        else out.push(f);
        stats.records++;
      }
    } else if ((format === VNI_EGRESS || format === VNI_INGRESS) && length >= 4) {
      vni = d.readUInt32BE(q + 8);
    }
    q = next;
  }
  // The tunnel a sample came by, where the switch reports it (Open vSwitch on tunnel ports).
  if (vni >= 0 && vni <= 0xffffff)
    for (let i = sampled; i < out.length; i++) (out[i] as ExportedFlow).vni = vni;
  return true;
}

function sampledFrame(
  d: Buffer,
  at: number,
  caplen: number,
  frameLength: number,
  rate: number,
  now: number,
): ExportedFlow | undefined {
  const pk = decoder.decode(d, at, caplen, frameLength, LINKTYPE.ETHERNET);
  if (pk.account === ACCOUNT.none) return undefined;
  const f = emptyFlow();
  f.frameBytes = true;
  f.bytes = frameLength * rate;
  f.packets = rate;
  f.first = now;
  f.last = now;
  f.vlan = pk.vlan;
  f.vni = pk.vni;
  f.group = pk.groupDst;
  f.srcMac = pk.srcMacAt === NONE ? -1 : d.readUIntBE(pk.srcMacAt, 6);
  f.dstMac = pk.dstMacAt === NONE ? -1 : d.readUIntBE(pk.dstMacAt, 6);
  if (pk.account === ACCOUNT.ip) {
    f.ipVersion = pk.ipVersion as 4 | 6;
    f.src.set(pk.src);
    f.dst.set(pk.dst);
    f.protocol = pk.proto;
    f.srcPort = pk.sport;
    f.dstPort = pk.dport;
  } else {
    f.ipVersion = 0;
    f.protocol = pk.etherType;
  }
  if (f.group !== GROUP.none) f.dstMac = -1;
  return f;
}
