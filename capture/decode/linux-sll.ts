import { u16 } from './bytes.js';
import { etherTypeLayer } from './ethertype.js';
import { LAYER, type Layer } from './layer.js';
import { ACCOUNT, GROUP, type Packet } from './packet.js';

/**
 * Linux "cooked" captures (tcpdump -i any), https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html:
 *   v1 (16 bytes): packet type 2 | ARPHRD type 2 | address length 2 | address 8 | protocol 2
 *   v2 (20 bytes): protocol 2 | reserved 2 | ifindex 4 | ARPHRD type 2 | packet type 1 | address length 1 | address 8
 * Only the sender's address is recorded; the packet type says whether the frame was broadcast or multicast.
 */
const PACKET_BROADCAST = 1;
const PACKET_MULTICAST = 2;
const ARPHRD_ETHER = 1;
// Protocol values below 0x0600 are not EtherTypes: 802.3 or 802.2 frames without an Ethernet II type.
const MIN_ETHERTYPE = 0x0600;

export function decodeLinuxSll(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 16) return pk.short('linux_sll');
  return cooked(pk, p + 16, end, u16(b, p), u16(b, p + 2), u16(b, p + 4), p + 6, u16(b, p + 14));
}

export function decodeLinuxSll2(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < 20) return pk.short('linux_sll2');
  return cooked(pk, p + 20, end, b[p + 10] as number, u16(b, p + 8), b[p + 11] as number, p + 12, u16(b, p));
}

function cooked(
  pk: Packet,
  payload: number,
  end: number,
  packetType: number,
  hwType: number,
  addrLen: number,
  addr: number,
  protocol: number,
): Layer {
  if (hwType === ARPHRD_ETHER && addrLen === 6) pk.srcMacAt = addr;
  if (packetType === PACKET_BROADCAST) pk.groupDst = GROUP.broadcast;
  else if (packetType === PACKET_MULTICAST) pk.groupDst = GROUP.multicast;
  if (protocol < MIN_ETHERTYPE) {
    pk.etherType = protocol;
    pk.account = ACCOUNT.l2;
    return LAYER.done;
  }
  return pk.next(etherTypeLayer(pk, protocol), payload, end);
}
