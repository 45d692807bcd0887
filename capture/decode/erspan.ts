import { LAYER, type Layer } from './layer.js';
import { NONE, type Packet } from './packet.js';
import { enterTunnel } from './tunnel.js';
import { TUNNEL } from './tunnel-kinds.js';

/**
 * ERSPAN, the port mirror carried in GRE (draft-foschiano-erspan-03):
 *   type I   (0x88be without GRE sequence): no header, the mirrored Ethernet frame follows;
 *   type II  (0x88be): ver 4b | VLAN 12b | COS 3b | En 2b | T 1b | session 10b | reserved 12b | index 20b (8 bytes);
 *   type III (0x22eb): ver | VLAN | COS | BSO | T | session | timestamp 4 | SGT 2 | P | FT | HW id | D | Gra | O (12 bytes),
 *            plus an 8-byte platform sub-header when O is set.
 * The mirrored frame keeps its own VLAN tag; the session id is not an overlay, so it is not a VNI.
 */
export function decodeErspan(pk: Packet, b: Buffer, p: number, end: number, type: 1 | 2 | 3): Layer {
  let inner = p;
  if (type === 2) inner += 8;
  else if (type === 3) {
    if (end - p < 12) return pk.short('erspan');
    inner += 12 + (((b[p + 11] as number) & 1) === 1 ? 8 : 0);
  }
  if (inner > end) return pk.short('erspan');
  if (type !== 1 && (b[p] as number) >> 4 !== type - 1) return pk.unsupported('erspan_version');
  if (!enterTunnel(pk, TUNNEL.erspan, inner, NONE)) return LAYER.done;
  return pk.next(LAYER.ethernet, inner, end);
}
