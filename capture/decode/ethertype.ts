import { decodeArp } from './arp.js';
import { decodeIpv4 } from './ipv4.js';
import { decodeIpv6 } from './ipv6.js';
import { ACCOUNT, type Packet } from './packet.js';

type LayerDecoder = (pk: Packet, b: Buffer, p: number, end: number) => boolean;

/** EtherType → decoder (IEEE registry). Anything else is still a valid MAC-to-MAC frame. */
const ETHERTYPES: Record<number, LayerDecoder> = {
  2048: decodeIpv4,
  34525: decodeIpv6,
  2054: decodeArp,
  32821: decodeArp, // RARP: QEMU's announce-self after a live migration
};

export function decodeEtherType(pk: Packet, b: Buffer, p: number, end: number, type: number): boolean {
  pk.etherType = type;
  const next = ETHERTYPES[type];
  if (next !== undefined) return next(pk, b, p, end);
  pk.account = ACCOUNT.l2;
  return true;
}
