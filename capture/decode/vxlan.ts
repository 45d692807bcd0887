import { u24 } from './bytes.js';
import { LAYER, type Layer } from './layer.js';
import type { Packet } from './packet.js';
import { enterTunnel } from './tunnel.js';
import { TUNNEL } from './tunnel-kinds.js';

/** VXLAN (RFC 7348): flags 1 (I = 0x08) | reserved 3 | VNI 3 | reserved 1, then an Ethernet frame. */
const HEADER = 8;

export function decodeVxlan(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < HEADER) return pk.short('vxlan');
  if (!enterTunnel(pk, TUNNEL.vxlan, p + HEADER, u24(b, p + 4))) return LAYER.done;
  return pk.next(LAYER.ethernet, p + HEADER, end);
}
