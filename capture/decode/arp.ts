import { ACCOUNT, type Packet } from './packet.js';

/**
 * ARP/RARP for IPv4 over Ethernet (RFC 826, RFC 903):
 *   htype 2 | ptype 2 | hlen 1 | plen 1 | op 2 | sha 6 | spa 4 | tha 6 | tpa 4
 * Accounted as a MAC-to-MAC frame; the sender's binding teaches attribution about unknown hosts.
 */
const LENGTH = 28;

export function decodeArp(pk: Packet, b: Buffer, p: number, end: number): boolean {
  pk.account = ACCOUNT.l2;
  if (end - p < 8) return pk.short('arp');
  if (b.readUInt16BE(p) !== 1 || b.readUInt16BE(p + 2) !== 0x0800 || b[p + 4] !== 6 || b[p + 5] !== 4) {
    return true; // another hardware/protocol pair: nothing to learn, still a valid frame
  }
  if (end - p < LENGTH) return pk.short('arp');
  pk.arpOp = b.readUInt16BE(p + 6);
  pk.arpSenderMac = b.readUIntBE(p + 8, 6);
  pk.arpSenderIp = b.readUInt32BE(p + 14);
  pk.arpTargetIp = b.readUInt32BE(p + 24);
  return true;
}
