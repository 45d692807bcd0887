import { countProblem, type ExportedFlow, type ExportStats, emptyFlow, ipGroup } from './exported-flow.js';

/**
 * NetFlow v5 (Cisco; no RFC): a 24-byte header, then `count` fixed 48-byte IPv4 records.
 *   header: version(2) count(2) sysUptime ms(4) unix_secs(4) unix_nsecs(4) flow_sequence(4)
 *           engine_type(1) engine_id(1) sampling(2: mode in the top 2 bits, 1-in-N in the low 14)
 *   record: srcaddr(4) dstaddr(4) nexthop(4) input(2) output(2) dPkts(4) dOctets(4) first(4) last(4)
 *           srcport(2) dstport(2) pad(1) tcp_flags(1) prot(1) tos(1) src_as(2) dst_as(2) masks(2) pad(2)
 */
export function decodeNetflowV5(d: Buffer, stats: ExportStats): ExportedFlow[] {
  if (d.length < 24) {
    countProblem(stats, 'malformed:netflow5_short_header');
    return [];
  }
  const count = d.readUInt16BE(2);
  if (count === 0 || count > 30 || d.length < 24 + count * 48) {
    countProblem(stats, 'malformed:netflow5_bad_count');
    return [];
  }
  const uptime = d.readUInt32BE(4);
  const now = d.readUInt32BE(8) + d.readUInt32BE(12) / 1e9;
  const interval = d.readUInt16BE(22) & 0x3fff;
  const rate = Math.max(interval, 1);
  const flows: ExportedFlow[] = [];
  for (let i = 0; i < count; i++) {
    const p = 24 + i * 48;
    const f = emptyFlow();
    f.src[0] = d.readUInt32BE(p);
    f.dst[0] = d.readUInt32BE(p + 4);
    f.packets = d.readUInt32BE(p + 16) * rate;
    f.bytes = d.readUInt32BE(p + 20) * rate;
    f.first = now - (uptime - d.readUInt32BE(p + 24)) / 1000;
    f.last = now - (uptime - d.readUInt32BE(p + 28)) / 1000;
    f.srcPort = d.readUInt16BE(p + 32);
    f.dstPort = d.readUInt16BE(p + 34);
    f.protocol = d.readUInt8(p + 38);
    f.group = ipGroup(4, f.dst);
    flows.push(f);
  }
  stats.records += count;
  return flows;
}
