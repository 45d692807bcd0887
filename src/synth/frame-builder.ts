/**
 * Builds Ethernet/IPv4/TCP|UDP frames, optionally inside VXLAN, directly into a caller's buffer.
 * Payload bytes are left as they are (zeros or stale data): only headers matter to the analysis.
 */
export interface Nic {
  mac: number;
  ip: number;
}

export interface TunnelEnds {
  src: Nic;
  dst: Nic;
  vni: number;
}

export const ETH = 14;
export const IPV4 = 20;
export const TCP = 20;
export const UDP = 8;
export const VXLAN_OVERHEAD = ETH + IPV4 + UDP + 8;

export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** Frame length on the wire (without FCS) for an L4 payload of `payload` bytes. */
export function frameLength(proto: 'tcp' | 'udp', payload: number, tunnel: boolean): number {
  return ETH + IPV4 + (proto === 'tcp' ? TCP : UDP) + payload + (tunnel ? VXLAN_OVERHEAD : 0);
}

export function writeFrame(
  b: Buffer,
  p: number,
  src: Nic,
  dst: Nic,
  proto: 'tcp' | 'udp',
  sport: number,
  dport: number,
  payload: number,
  tcpFlags: number,
  tunnel: TunnelEnds | undefined,
): void {
  if (tunnel !== undefined) {
    const inner = ETH + IPV4 + (proto === 'tcp' ? TCP : UDP) + payload;
    writeEthernetIpv4(b, p, tunnel.src, tunnel.dst, 17, UDP + 8 + inner);
    const u = p + ETH + IPV4;
    // Source port from the inner flow hash, as Linux does, so ECMP spreads tunnels.
    b.writeUInt16BE(49152 + ((sport ^ dport) & 0x3fff), u);
    b.writeUInt16BE(4789, u + 2);
    b.writeUInt16BE(UDP + 8 + inner, u + 4);
    b.writeUInt16BE(0, u + 6);
    b.writeUInt32BE(0x08000000, u + 8);
    b.writeUInt32BE((tunnel.vni << 8) >>> 0, u + 12);
    p = u + 16;
  }
  const l4 = (proto === 'tcp' ? TCP : UDP) + payload;
  writeEthernetIpv4(b, p, src, dst, proto === 'tcp' ? 6 : 17, l4);
  const t = p + ETH + IPV4;
  b.writeUInt16BE(sport, t);
  b.writeUInt16BE(dport, t + 2);
  if (proto === 'tcp') {
    b.writeUInt32BE(0, t + 4);
    b.writeUInt32BE(0, t + 8);
    b[t + 12] = 5 << 4;
    b[t + 13] = tcpFlags;
    b.writeUInt16BE(65535, t + 14);
    b.writeUInt32BE(0, t + 16);
  } else {
    b.writeUInt16BE(l4, t + 4);
    b.writeUInt16BE(0, t + 6);
  }
}

function writeEthernetIpv4(b: Buffer, p: number, src: Nic, dst: Nic, proto: number, l4: number): void {
  b.writeUIntBE(dst.mac, p, 6);
  b.writeUIntBE(src.mac, p + 6, 6);
  b.writeUInt16BE(0x0800, p + 12);
  const ip = p + ETH;
  b[ip] = 0x45;
  b[ip + 1] = 0;
  b.writeUInt16BE(IPV4 + l4, ip + 2);
  b.writeUInt32BE(0x00004000, ip + 4); // id 0, DF
  b[ip + 8] = 64;
  b[ip + 9] = proto;
  b.writeUInt16BE(0, ip + 10);
  b.writeUInt32BE(src.ip, ip + 12);
  b.writeUInt32BE(dst.ip, ip + 16);
  let sum = 0;
  for (let i = 0; i < IPV4; i += 2) sum += b.readUInt16BE(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b.writeUInt16BE(~sum & 0xffff, ip + 10);
}
