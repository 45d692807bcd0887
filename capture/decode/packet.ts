import { u48 } from './bytes.js';
import { LAYER, type Layer } from './layer.js';
import { MAX_TUNNEL_DEPTH, type TunnelKind } from './tunnel-kinds.js';

/**
 * The decoded view of one frame: plain numeric fields, allocated once per Decoder and overwritten for
 * every frame (the Decoder owns it; consumers read it during the sink call and must copy what they keep).
 * Addresses point into nothing: IPs are copied into the fixed Uint32Arrays, MACs are 48-bit numbers.
 */
export const STATUS = { ok: 0, truncated: 1, malformed: 2, unsupported: 3 } as const;
export type Status = (typeof STATUS)[keyof typeof STATUS];

/** What the frame can be accounted as: nothing, a MAC-to-MAC frame, or an IP packet. */
export const ACCOUNT = { none: 0, l2: 1, ip: 2 } as const;

export const GROUP = { none: 0, multicast: 1, broadcast: 2 } as const;

const EMPTY = new Uint8Array(0);

export const NO_MAC = -1;
export const BROADCAST_MAC = 0xffffffffffff;
export const NONE = -1;

const tooShortNames = new Map<string, string>();
function tooShort(layer: string): string {
  let name = tooShortNames.get(layer);
  if (name === undefined) {
    name = `${layer}_too_short`;
    tooShortNames.set(layer, name);
  }
  return name;
}

export class Packet {
  status: Status = STATUS.ok;
  /** snake_case name of the anomaly for malformed/truncated/unsupported frames ('' when ok). */
  reason = '';
  account: number = ACCOUNT.none;

  // The captured frame.
  frameStart = 0;
  capEnd = 0;
  origLen = 0;
  linkType = 0;
  /** True when the capture cut the frame (caplen < origLen): running out of data is truncation, not damage. */
  cut = false;

  // The innermost frame, the one VM edges count.
  innerStart = 0;
  l3Start = NONE;
  /** The innermost IP packet's length from its header (total length), or NONE when it gives none. */
  l3Length = NONE;
  /** Where the innermost transport payload starts (after the TCP/UDP header, or the IP header). */
  payloadStart = NONE;
  /** Where the MACs are in `buf` (NONE when the link layer has none): read only when a consumer asks. */
  srcMacAt = NONE;
  dstMacAt = NONE;
  /** The frame's bytes, borrowed from the reader for the duration of the sink call. */
  buf: Uint8Array = EMPTY;
  /** Destination is a group: GROUP.multicast or GROUP.broadcast (MAC, SLL packet type or IP says so). */
  groupDst: number = GROUP.none;
  vlan = NONE;
  vni = NONE;
  etherType = NONE;
  ipVersion = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  proto = 0;
  sport = 0;
  dport = 0;
  tcpFlags = 0;
  /** The innermost IP packet so far is a first fragment (its payload continues in later fragments). */
  fragment = false;

  // Where the layer a decoder hands on to lies (see `next`).
  nextAt = 0;
  nextEnd = 0;

  // ARP/RARP, for learning unknown hosts.
  arpOp = 0;
  arpSenderMac = NO_MAC;
  arpSenderIp = 0;
  arpTargetIp = 0;

  // The outermost tunnel, for per-endpoint overhead.
  tunnelDepth = 0;
  tunnelKind: TunnelKind = '';
  /** Index of tunnelKind in TUNNEL_KINDS (a number is cheaper to key on than the name). */
  tunnelKindIndex = 0;
  tunnelIpVersion = 0;
  readonly tunnelSrc = new Uint32Array(4);
  readonly tunnelDst = new Uint32Array(4);
  tunnelDepthExceeded = false;
  /**
   * The outer packet was an IP first fragment: the inner frame continues in later fragments, so its
   * length comes from the inner IP header (`innerLength`) and later fragments are pure tunnel overhead.
   */
  innerFromFragment = false;
  innerLength = NONE;
  /** A later fragment of a tunnelled packet: all of it is tunnel overhead. */
  tunnelContinuation = false;

  /**
   * Cross-frame state: ports of recent first IPv4 fragments, so later fragments join the right flow.
   * Direct-mapped on (src, dst, id, proto); a collision only costs port precision for one datagram.
   */
  readonly fragKeys = new Uint32Array(4096 * 4);
  readonly fragPorts = new Uint32Array(4096);
  /** Index into TUNNEL_KINDS when the first fragment carried a tunnel (0: it did not). */
  readonly fragTunnel = new Uint8Array(4096);
  /**
   * First fragments of this frame, outermost first, as (slot, src, dst, id, proto): their ports and
   * tunnel are known only once the layers they carry are decoded. One IPv4 header per tunnel level.
   */
  readonly pendingFragments = new Uint32Array(5 * (MAX_TUNNEL_DEPTH + 1));
  pendingCount = 0;

  reset(buf: Uint8Array, frameStart: number, caplen: number, origLen: number, linkType: number): void {
    this.buf = buf;
    this.status = STATUS.ok;
    this.reason = '';
    this.account = ACCOUNT.none;
    this.frameStart = frameStart;
    this.capEnd = frameStart + caplen;
    this.origLen = origLen;
    this.linkType = linkType;
    this.cut = caplen < origLen;
    this.innerStart = frameStart;
    this.tunnelDepth = 0;
    this.vni = NONE;
    this.tunnelKind = '';
    this.tunnelKindIndex = 0;
    this.tunnelDepthExceeded = false;
    this.innerFromFragment = false;
    this.innerLength = NONE;
    this.tunnelContinuation = false;
    this.arpOp = 0;
    this.pendingCount = 0;
    this.resetInner();
  }

  /** Forgets the layers above a tunnel header, which the inner frame replaces. */
  resetInner(): void {
    this.l3Start = NONE;
    this.l3Length = NONE;
    this.payloadStart = NONE;
    this.srcMacAt = NONE;
    this.dstMacAt = NONE;
    this.groupDst = GROUP.none;
    this.vlan = NONE;
    this.etherType = NONE;
    this.ipVersion = 0;
    this.proto = 0;
    this.sport = 0;
    this.dport = 0;
    this.tcpFlags = 0;
    this.fragment = false;
    this.account = ACCOUNT.none;
  }

  /** Hands the frame on to `layer`, whose bytes are [at, end): `return pk.next(LAYER.udp, p + ihl, end)`. */
  next(layer: Layer, at: number, end: number): Layer {
    this.nextAt = at;
    this.nextEnd = end;
    return layer;
  }

  /**
   * Records that a header needs bytes the capture does not have: truncation when the snaplen cut the
   * frame, damage otherwise. Returns `done` so decoders can `return pk.short(...)`.
   */
  short(reason: string): typeof LAYER.done {
    if (this.cut) {
      this.status = STATUS.truncated;
      this.reason = reason;
    } else {
      this.malformed(tooShort(reason));
    }
    return LAYER.done;
  }

  malformed(reason: string): typeof LAYER.done {
    this.status = STATUS.malformed;
    this.reason = reason;
    return LAYER.done;
  }

  unsupported(reason: string): typeof LAYER.done {
    this.status = STATUS.unsupported;
    this.reason = reason;
    return LAYER.done;
  }

  get srcMac(): number {
    return this.srcMacAt === NONE ? NO_MAC : u48(this.buf, this.srcMacAt);
  }

  get dstMac(): number {
    return this.dstMacAt === NONE ? NO_MAC : u48(this.buf, this.dstMacAt);
  }

  /** Bytes of the innermost frame as it was on the wire. */
  get frameBytes(): number {
    if (this.innerLength !== NONE) return this.innerLength;
    return this.origLen - (this.innerStart - this.frameStart);
  }

  /** Bytes from the innermost IP header to the end of the frame on the wire. */
  get l3Bytes(): number {
    if (this.l3Start === NONE) return 0;
    if (this.innerLength !== NONE) return this.innerLength - (this.l3Start - this.innerStart);
    return this.origLen - (this.l3Start - this.frameStart);
  }

  /** Application bytes: the innermost transport payload (IP payload for other protocols), 0 without IP. */
  get payloadBytes(): number {
    if (this.l3Start === NONE || this.payloadStart === NONE) return 0;
    const length = this.l3Length !== NONE ? this.l3Length : this.l3Bytes;
    return Math.max(0, this.l3Start + length - this.payloadStart);
  }

  /** Wire bytes the tunnels added to this frame (negative for a first fragment, whose inner frame continues). */
  get overheadBytes(): number {
    return this.origLen - this.frameBytes;
  }
}
