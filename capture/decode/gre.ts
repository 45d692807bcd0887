import { u16, u32 } from './bytes.js';
import { etherTypeLayer } from './ethertype.js';
import { LAYER, type Layer } from './layer.js';
import { NONE, type Packet } from './packet.js';
import { enterTunnel } from './tunnel.js';
import { TUNNEL } from './tunnel-kinds.js';

/**
 * GRE (RFC 2784, key and sequence from RFC 2890):
 *   C 1b | R 1b | K 1b | S 1b | reserved 9b | version 3b | protocol 2 | [checksum 2, reserved 2] | [key 4] | [seq 4]
 * Protocol 0x6558 is transparent Ethernet bridging (NVGRE and OVS GRE ports; the key's upper 24 bits are
 * the virtual subnet id); 0x88be/0x22eb are ERSPAN; any other EtherType is that protocol directly.
 */
const C = 0x8000;
const K = 0x2000;
const S = 0x1000;
const TRANSPARENT_ETHERNET = 0x6558;
const ERSPAN_II = 0x88be;
const ERSPAN_III = 0x22eb;

export function decodeGre(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 4) return pk.short('gre');
  const flags = u16(b, p);
  if ((flags & 7) !== 0) return pk.unsupported('gre_version'); // version 1 is PPTP's enhanced GRE
  const protocol = u16(b, p + 2);
  let q = p + 4;
  if (flags & C) q += 4;
  let key = NONE;
  if (flags & K) {
    if (end - q < 4) return pk.short('gre');
    key = u32(b, q);
    q += 4;
  }
  if (flags & S) q += 4;
  if (q > end) return pk.short('gre');
  if (protocol === ERSPAN_II || protocol === ERSPAN_III) {
    const erspan =
      protocol === ERSPAN_III ? LAYER.erspan3 : (flags & S) !== 0 ? LAYER.erspan2 : LAYER.erspan1;
    return pk.next(erspan, q, end);
  }
  if (protocol === TRANSPARENT_ETHERNET) {
    if (!enterTunnel(pk, TUNNEL.gre, q, key === NONE ? NONE : key >>> 8)) return LAYER.done;
    return pk.next(LAYER.ethernet, q, end);
  }
  if (!enterTunnel(pk, TUNNEL.gre, q, key)) return LAYER.done;
  return pk.next(etherTypeLayer(pk, protocol), q, end);
}
