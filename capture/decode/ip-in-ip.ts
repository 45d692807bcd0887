import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import type { Packet } from './packet.js';
import { NONE } from './packet.js';
import { enterTunnel, TUNNEL } from './tunnel.js';

/** IP-in-IP (RFC 2003, protocol 4) and IPv6-in-IP (RFC 4213, protocol 41): the payload is the inner packet. */
export function decodeIpInIp(pk: Packet, b: Buffer, p: number, end: number, fragment: boolean): boolean {
  const inner = pk.proto === 4 ? decodeIpv4 : decodeIpv6;
  if (!enterTunnel(pk, pk.proto === 4 ? TUNNEL.ipip : TUNNEL.ip6in4, p, NONE, fragment)) return true;
  return inner(pk, b, p, end);
}
