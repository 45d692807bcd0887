import { u16, u32 } from './bytes.js';
import { ipProtocolLayer } from './ip-protocol.js';
import { LAYER, type Layer } from './layer.js';
import { ACCOUNT, GROUP, NONE, type Packet } from './packet.js';
import { continueTunnel } from './tunnel.js';

/**
 * IPv4 (RFC 791): ver 4b | IHL 4b | TOS | total length 2 | id 2 | flags 3b, fragment offset 13b | TTL |
 * protocol | checksum 2 | src 4 | dst 4 | options (IHL*4 - 20).
 * A total length of 0 is TSO/GSO/BIG TCP (the frame is bigger than 64 KiB or not yet segmented): the
 * payload then runs to the end of the frame. Byte counts never come from this field.
 */
const MIN_HEADER = 20;
const MF = 0x2000;
const OFFSET_MASK = 0x1fff;

export function decodeIpv4(pk: Packet, b: Buffer, p: number, end: number): Layer {
  if (end - p < MIN_HEADER) return pk.short('ipv4');
  const vihl = b[p] as number;
  if (vihl >> 4 !== 4) return pk.malformed('ipv4_bad_version');
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < MIN_HEADER) return pk.malformed('ipv4_bad_header_length');
  pk.l3Start = p;
  pk.ipVersion = 4;
  pk.proto = b[p + 9] as number;
  const src = u32(b, p + 12);
  const dst = u32(b, p + 16);
  pk.src[0] = src;
  pk.dst[0] = dst;
  if (dst === 0xffffffff) pk.groupDst = GROUP.broadcast;
  else if (dst >>> 28 === 0xe && pk.groupDst === GROUP.none) pk.groupDst = GROUP.multicast;
  pk.account = ACCOUNT.ip;
  if (end - p < ihl) return pk.short('ipv4_options');
  const total = u16(b, p + 2);
  pk.l3Length = total === 0 ? NONE : total; // 0: BIG TCP/GSO, the wire length says
  pk.payloadStart = p + ihl;
  if (pk.innerFromFragment && pk.tunnelDepth > 0 && pk.innerLength < 0)
    pk.innerLength = p - pk.innerStart + total;
  let payloadEnd = end;
  if (total !== 0) {
    if (total < ihl) return pk.malformed('ipv4_bad_total_length');
    if (p + total < end) payloadEnd = p + total; // Ethernet padding is not payload
  }
  const frag = u16(b, p + 6);
  if ((frag & (MF | OFFSET_MASK)) !== 0) {
    const id = u16(b, p + 4);
    const proto = pk.proto;
    const slot = fragSlot(src, dst, id, proto);
    if ((frag & OFFSET_MASK) !== 0) {
      // A later fragment has no transport header: take what the first fragment left.
      if (!fragmentSeen(pk, slot, src, dst, id, proto)) return LAYER.done;
      const tunnel = pk.fragTunnel[slot] as number;
      if (tunnel !== 0) continueTunnel(pk, tunnel);
      else {
        const ports = pk.fragPorts[slot] as number;
        pk.sport = ports >>> 16;
        pk.dport = ports & 0xffff;
      }
      return LAYER.done;
    }
    pk.fragment = true;
    awaitFragment(pk, slot, src, dst, id, proto);
  }
  return pk.next(ipProtocolLayer(pk.proto), p + ihl, payloadEnd);
}

/** Sets a first fragment aside until its payload is decoded: `rememberFragments` then stores its ports. */
function awaitFragment(pk: Packet, slot: number, src: number, dst: number, id: number, proto: number): void {
  const k = pk.pendingCount * 5;
  if (k === pk.pendingFragments.length) return;
  pk.pendingFragments[k] = slot;
  pk.pendingFragments[k + 1] = src;
  pk.pendingFragments[k + 2] = dst;
  pk.pendingFragments[k + 3] = id;
  pk.pendingFragments[k + 4] = proto;
  pk.pendingCount++;
}

/**
 * Once the frame is decoded: the ports (or tunnel) of each first fragment in it, for the later fragments
 * of the same datagram. Innermost first, so an outer header's entry wins a shared slot.
 */
export function rememberFragments(pk: Packet): void {
  const pending = pk.pendingFragments;
  for (let i = pk.pendingCount - 1; i >= 0; i--) {
    const k = i * 5;
    rememberFragment(
      pk,
      pending[k] as number,
      pending[k + 1] as number,
      pending[k + 2] as number,
      pending[k + 3] as number,
      pending[k + 4] as number,
    );
  }
}

function fragSlot(src: number, dst: number, id: number, proto: number): number {
  let h = Math.imul(src ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(dst, 0xc2b2ae35) ^ (id << 8) ^ proto;
  h ^= h >>> 15;
  return (Math.imul(h, 0x2c1b3c6d) >>> 20) & 4095;
}

function rememberFragment(
  pk: Packet,
  slot: number,
  src: number,
  dst: number,
  id: number,
  proto: number,
): void {
  const k = slot * 4;
  pk.fragKeys[k] = src;
  pk.fragKeys[k + 1] = dst;
  pk.fragKeys[k + 2] = id;
  pk.fragKeys[k + 3] = proto;
  pk.fragTunnel[slot] = pk.tunnelDepth > 0 ? pk.tunnelKindIndex : 0;
  pk.fragPorts[slot] = ((pk.sport << 16) | pk.dport) >>> 0;
}

function fragmentSeen(
  pk: Packet,
  slot: number,
  src: number,
  dst: number,
  id: number,
  proto: number,
): boolean {
  const k = slot * 4;
  return (
    pk.fragKeys[k] === src &&
    pk.fragKeys[k + 1] === dst &&
    pk.fragKeys[k + 2] === id &&
    pk.fragKeys[k + 3] === proto
  );
}
