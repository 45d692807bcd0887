import { u16, u32, u48 } from './bytes.js';
import { LAYER, type Layer } from './layer.js';
import { ACCOUNT, type Packet } from './packet.js';

/**
 * ARP/RARP for IPv4 over Ethernet (RFC 826, RFC 903):
 *   htype 2 | ptype 2 | hlen 1 | plen 1 | op 2 | sha 6 | spa 4 | tha 6 | tpa 4
 * Accounted as a MAC-to-MAC frame; the sender's binding teaches attribution about unknown hosts.
 */
const LENGTH = 28;

export function decodeArp(pk: Packet, b: Buffer, p: number, end: number): Layer {
  pk.account = ACCOUNT.l2;
  if (end - p < 8) return pk.short('arp');
  if (u16(b, p) !== 1 || u16(b, p + 2) !== 0x0800 || b[p + 4] !== 6 || b[p + 5] !== 4) {
    return LAYER.done; // another hardware/protocol pair: nothing to learn, still a valid frame
  }
  if (end - p < LENGTH) return pk.short('arp');
  pk.arpOp = u16(b, p + 6);
  pk.arpSenderMac = u48(b, p + 8);
  pk.arpSenderIp = u32(b, p + 14);
  pk.arpTargetIp = u32(b, p + 24);
  return LAYER.done;
}
