import { decodeArp } from './arp.js';
import { dispatchTable } from './dispatch-table.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { ACCOUNT, type Packet } from './packet.js';

type LayerDecoder = (pk: Packet, b: Buffer, p: number, end: number) => boolean;

/** EtherType → decoder (IEEE registry). Anything else is still a valid MAC-to-MAC frame. */
const ETHERTYPES = dispatchTable<LayerDecoder>(0x10000, [
  [0x0800, decodeIpv4],
  [0x86dd, decodeIpv6],
  [0x0806, decodeArp],
  [0x8035, decodeArp], // RARP: QEMU's announce-self after a live migration
]);

export function decodeEtherType(pk: Packet, b: Buffer, p: number, end: number, type: number): boolean {
  pk.etherType = type;
  // Direct calls for the common case let V8 inline them; the table serves the rest.
  if (type === 0x0800) return decodeIpv4(pk, b, p, end);
  const next = ETHERTYPES[type];
  if (next !== undefined) return next(pk, b, p, end);
  pk.account = ACCOUNT.l2;
  return true;
}
