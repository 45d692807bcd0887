import { u16, u24 } from './bytes.js';
import { etherTypeLayer } from './ethertype.js';
import { LAYER, type Layer } from './layer.js';
import type { Packet } from './packet.js';
import { enterTunnel } from './tunnel.js';
import { TUNNEL } from './tunnel-kinds.js';

/**
 * Geneve (RFC 8926): ver 2b | opt len 6b (4-byte words) | O, C, reserved | protocol type 2 | VNI 3 | reserved 1 |
 * options. Protocol 0x6558 carries Ethernet; any other EtherType carries that protocol directly.
 */
const HEADER = 8;
const TRANSPARENT_ETHERNET = 0x6558;

export function decodeGeneve(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < HEADER) return pk.short('geneve');
  const first = b[p] as number;
  if (first >> 6 !== 0) return pk.unsupported('geneve_version');
  const inner = p + HEADER + (first & 0x3f) * 4;
  if (inner > end) return pk.short('geneve_options');
  const protocol = u16(b, p + 2);
  if (!enterTunnel(pk, TUNNEL.geneve, inner, u24(b, p + 4))) return LAYER.done;
  const next = protocol === TRANSPARENT_ETHERNET ? LAYER.ethernet : etherTypeLayer(pk, protocol);
  return pk.next(next, inner, end);
}
