import { u16 } from './bytes.js';
import { dispatchTable } from './dispatch-table.js';
import { decodeGeneve } from './geneve.js';
import type { Packet } from './packet.js';
import { decodeVxlan } from './vxlan.js';

/** UDP (RFC 768): src port 2 | dst port 2 | length 2 | checksum 2. */
const HEADER = 8;

type PayloadDecoder = (pk: Packet, b: Buffer, p: number, end: number, firstFragment: boolean) => boolean;

/** Destination port → overlay decapsulation (IANA assignments; 8472 is Linux/flannel's pre-IANA VXLAN port). */
const UDP_TUNNELS = dispatchTable<PayloadDecoder>(0x10000, [
  [4789, decodeVxlan],
  [8472, decodeVxlan],
  [6081, decodeGeneve],
]);

export function decodeUdp(pk: Packet, b: Buffer, p: number, end: number, fragment: boolean): boolean {
  if (end - p < 4) return pk.short('udp');
  pk.sport = u16(b, p);
  pk.dport = u16(b, p + 2);
  if (end - p < HEADER) return pk.short('udp');
  pk.payloadStart = p + HEADER;
  if (pk.dport === 4789) return decodeVxlan(pk, b, p + HEADER, end, fragment);
  const tunnel = UDP_TUNNELS[pk.dport];
  return tunnel === undefined ? true : tunnel(pk, b, p + HEADER, end, fragment);
}
