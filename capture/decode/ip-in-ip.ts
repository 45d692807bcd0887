import { LAYER, type Layer } from './layer.js';
import { NONE, type Packet } from './packet.js';
import { enterTunnel } from './tunnel.js';
import { TUNNEL } from './tunnel-kinds.js';

/** IP-in-IP (RFC 2003, protocol 4) and IPv6-in-IP (RFC 4213, protocol 41): the payload is the inner packet. */
export function decodeIpInIp(pk: Packet, p: number, end: number): Layer {
  const v4 = pk.proto === 4;
  if (!enterTunnel(pk, v4 ? TUNNEL.ipip : TUNNEL.ip6in4, p, NONE)) return LAYER.done;
  return pk.next(v4 ? LAYER.ipv4 : LAYER.ipv6, p, end);
}
