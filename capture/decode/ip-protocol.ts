import { dispatchTable } from './dispatch-table.js';
import { decodeGre } from './gre.js';
import { decodeIcmp } from './icmp.js';
import { decodeIpInIp } from './ip-in-ip.js';
import type { Packet } from './packet.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';

type TransportDecoder = (pk: Packet, b: Buffer, p: number, end: number, firstFragment: boolean) => boolean;

/** IANA protocol number → decoder. Other protocols are accounted at the IP layer with ports 0. */
const PROTOCOLS = dispatchTable<TransportDecoder>(0x100, [
  [1, decodeIcmp],
  [4, decodeIpInIp],
  [6, decodeTcp],
  [17, decodeUdp],
  [41, decodeIpInIp],
  [47, decodeGre],
  [58, decodeIcmp],
]);

export function decodeIpPayload(
  pk: Packet,
  b: Buffer,
  p: number,
  end: number,
  proto: number,
  firstFragment: boolean,
): boolean {
  // Direct calls for the common cases let V8 inline them; the table serves the rest.
  if (proto === 6) return decodeTcp(pk, b, p, end);
  if (proto === 17) return decodeUdp(pk, b, p, end, firstFragment);
  const next = PROTOCOLS[proto];
  return next === undefined ? true : next(pk, b, p, end, firstFragment);
}
