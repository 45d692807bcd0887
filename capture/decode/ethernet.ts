import { u16, u48 } from './bytes.js';
import { etherTypeLayer } from './ethertype.js';
import type { Layer } from './layer.js';
import { BROADCAST_MAC, GROUP, type Packet } from './packet.js';

/**
 * Ethernet II (IEEE 802.3): dst MAC (6) | src MAC (6) | EtherType (2), then any number of 802.1Q (0x8100)
 * or 802.1ad/QinQ (0x88a8, legacy 0x9100) tags: TCI (2: PCP 3 | DEI 1 | VID 12) | EtherType (2).
 * With QinQ the VLAN key is outer VID << 12 | inner VID, so 209.20 and 209.21 stay distinct.
 */
const HEADER = 14;
const TAG = 4;
const MAX_TAGS = 3;

export function decodeEthernet(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < HEADER) return pk.short('ethernet');
  pk.dstMacAt = p;
  pk.srcMacAt = p + 6;
  if (((b[p] as number) & 1) === 1)
    pk.groupDst = u48(b, p) === BROADCAST_MAC ? GROUP.broadcast : GROUP.multicast;
  let type = u16(b, p + 12);
  p += HEADER;
  for (let tags = 0; type === 0x8100 || type === 0x88a8 || type === 0x9100; tags++) {
    if (tags === MAX_TAGS) return pk.malformed('vlan_too_many_tags');
    if (end - p < TAG) return pk.short('vlan');
    const vid = u16(b, p) & 0x0fff;
    pk.vlan = pk.vlan < 0 ? vid : ((pk.vlan << 12) | vid) >>> 0;
    type = u16(b, p + 2);
    p += TAG;
  }
  return pk.next(etherTypeLayer(pk, type), p, end);
}
