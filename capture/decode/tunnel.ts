import type { Packet } from './packet.js';
import { MAX_TUNNEL_DEPTH, TUNNEL_KINDS } from './tunnel-kinds.js';

/**
 * Enters a tunnel whose inner frame starts at `innerStart`. The outermost tunnel's IP endpoints are kept
 * for the overhead report; the inner frame then replaces every layer above. Returns false (decode the
 * outer packet as plain payload) once the depth cap is reached. The carrying IP packet's fragment flag
 * (`pk.fragment`) says whether the inner frame continues in later fragments.
 */
export function enterTunnel(pk: Packet, kind: number, innerStart: number, vni: number): boolean {
  if (pk.tunnelDepth === MAX_TUNNEL_DEPTH) {
    pk.tunnelDepthExceeded = true;
    return false;
  }
  if (pk.tunnelDepth === 0) {
    pk.tunnelKindIndex = kind;
    pk.tunnelKind = TUNNEL_KINDS[kind] ?? '';
    pk.tunnelIpVersion = pk.ipVersion;
    copyAddress(pk.src, pk.tunnelSrc);
    copyAddress(pk.dst, pk.tunnelDst);
  }
  pk.tunnelDepth++;
  if (pk.fragment) pk.innerFromFragment = true;
  pk.innerStart = innerStart;
  pk.resetInner();
  if (vni >= 0) pk.vni = vni;
  return true;
}

/** A later IPv4 fragment of a tunnelled packet: the whole frame is overhead between the tunnel endpoints. */
export function continueTunnel(pk: Packet, kindIndex: number): void {
  pk.tunnelKindIndex = kindIndex;
  pk.tunnelKind = TUNNEL_KINDS[kindIndex] ?? '';
  pk.tunnelIpVersion = pk.ipVersion;
  copyAddress(pk.src, pk.tunnelSrc);
  copyAddress(pk.dst, pk.tunnelDst);
  pk.tunnelDepth = 1;
  pk.tunnelContinuation = true;
  pk.innerStart = pk.frameStart + pk.origLen;
  pk.innerLength = 0;
  pk.resetInner();
}

/** Element copies: TypedArray#set costs more than the four words it moves. */
function copyAddress(from: Uint32Array, to: Uint32Array): void {
  to[0] = from[0] as number;
  to[1] = from[1] as number;
  to[2] = from[2] as number;
  to[3] = from[3] as number;
}
