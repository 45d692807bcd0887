import { ipToString } from './addresses.js';
import { ACCOUNT, type Packet } from './decode/packet.js';

/** Encapsulation cost between two tunnel endpoints (hypervisors, switches), in one direction. */
export interface TunnelUsage {
  kind: string;
  source: string;
  target: string;
  packets: number;
  /** Whole outer frames. */
  bytes: number;
  /** Outer frame bytes minus the inner frame: what the tunnel itself put on the wire. */
  overheadBytes: number;
  /** Frames whose inner frame could not be decoded (e.g. cut by the snaplen); not in any VM edge. */
  innerUndecoded: number;
}

/**
 * Accumulates TunnelUsage per outer endpoint pair. IPv4 pairs are found through nested numeric maps, so a
 * tunnelled packet costs two lookups and no allocation; IPv6 pairs (rarer) use a string key.
 */
export class TunnelOverhead {
  private readonly v4 = new Map<number, Map<number, TunnelUsage[]>>();
  private readonly v6 = new Map<string, TunnelUsage[]>();

  add(pk: Packet): void {
    const usage = this.lookup(pk);
    usage.packets++;
    usage.bytes += pk.origLen;
    usage.overheadBytes += pk.overheadBytes;
    if (pk.account === ACCOUNT.none && !pk.tunnelContinuation) usage.innerUndecoded++;
  }

  list(): TunnelUsage[] {
    const all: TunnelUsage[] = [];
    for (const byDst of this.v4.values()) for (const usages of byDst.values()) all.push(...usages);
    for (const usages of this.v6.values()) all.push(...usages);
    return all.sort((a, b) => b.bytes - a.bytes);
  }

  private lookup(pk: Packet): TunnelUsage {
    let usages: TunnelUsage[] | undefined;
    if (pk.tunnelIpVersion === 4) {
      const src = pk.tunnelSrc[0] as number;
      const dst = pk.tunnelDst[0] as number;
      let byDst = this.v4.get(src);
      if (byDst === undefined) {
        byDst = new Map();
        this.v4.set(src, byDst);
      }
      usages = byDst.get(dst);
      if (usages === undefined) {
        usages = [];
        byDst.set(dst, usages);
      }
    } else {
      const key = `${ipToString(6, pk.tunnelSrc)}>${ipToString(6, pk.tunnelDst)}`;
      usages = this.v6.get(key);
      if (usages === undefined) {
        usages = [];
        this.v6.set(key, usages);
      }
    }
    for (const u of usages) if (u.kind === pk.tunnelKind) return u;
    const usage: TunnelUsage = {
      kind: pk.tunnelKind,
      source: ipToString(pk.tunnelIpVersion, pk.tunnelSrc),
      target: ipToString(pk.tunnelIpVersion, pk.tunnelDst),
      packets: 0,
      bytes: 0,
      overheadBytes: 0,
      innerUndecoded: 0,
    };
    usages.push(usage);
    return usage;
  }
}
