import { u24 } from './bytes.js';
import { decodeEthernet } from './ethernet.js';
import type { Packet } from './packet.js';
import { enterTunnel, TUNNEL } from './tunnel.js';

/** VXLAN (RFC 7348): flags 1 (I = 0x08) | reserved 3 | VNI 3 | reserved 1, then an Ethernet frame. */
const HEADER = 8;

export function decodeVxlan(pk: Packet, b: Buffer, p: number, end: number, firstFragment: boolean): boolean {
  if (end - p < HEADER) return pk.short('vxlan');
  const vni = u24(b, p + 4);
  if (!enterTunnel(pk, TUNNEL.vxlan, p + HEADER, vni, firstFragment)) return true;
  return decodeEthernet(pk, b, p + HEADER, end);
}
