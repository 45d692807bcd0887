import { u16 } from './bytes.js';
import { LAYER, type Layer, layerTable } from './layer.js';
import type { Packet } from './packet.js';

/** UDP (RFC 768): src port 2 | dst port 2 | length 2 | checksum 2. */
const HEADER = 8;

/** Destination port → overlay decapsulation (IANA assignments; 8472 is Linux/flannel's pre-IANA VXLAN port). */
const UDP_TUNNELS = layerTable(0x10000, [
  [4789, LAYER.vxlan],
  [8472, LAYER.vxlan],
  [6081, LAYER.geneve],
]);

export function decodeUdp(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 4) return pk.short('udp');
  pk.sport = u16(b, p);
  pk.dport = u16(b, p + 2);
  if (end - p < HEADER) return pk.short('udp');
  pk.payloadStart = p + HEADER;
  return pk.next(UDP_TUNNELS[pk.dport] as Layer, p + HEADER, end);
}
