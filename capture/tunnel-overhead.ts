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

const CACHE_SLOTS = 1024;

/**
 * Accumulates TunnelUsage per outer endpoint pair and tunnel kind. A direct-mapped cache on the IPv4 pair
 * answers almost every packet with a few typed-array reads; misses (and IPv6 pairs) go through a string
 * key, so only the first packet of a pair, or a cache collision, allocates.
 */
export class TunnelOverhead {
  private readonly usages: TunnelUsage[] = [];
  private readonly byKey = new Map<string, TunnelUsage>();
  private readonly cacheKeys = new Uint32Array(CACHE_SLOTS * 3);
  private readonly cacheUsage = new Int32Array(CACHE_SLOTS).fill(-1);

  add(pk: Packet): void {
    const usage = this.lookup(pk);
    usage.packets++;
    usage.bytes += pk.origLen;
    usage.overheadBytes += pk.overheadBytes;
    if (pk.account === ACCOUNT.none && !pk.tunnelContinuation) usage.innerUndecoded++;
  }

  list(): TunnelUsage[] {
    return [...this.usages].sort(
      (a, b) => b.bytes - a.bytes || a.source.localeCompare(b.source) || a.target.localeCompare(b.target),
    );
  }

  private lookup(pk: Packet): TunnelUsage {
    const kind = pk.tunnelKindIndex;
    if (pk.tunnelIpVersion !== 4) return this.slowLookup(pk);
    const src = pk.tunnelSrc[0] as number;
    const dst = pk.tunnelDst[0] as number;
    const slot = (Math.imul(src ^ Math.imul(dst, 0x9e3779b1) ^ kind, 0x85ebca6b) >>> 22) & (CACHE_SLOTS - 1);
    const k = slot * 3;
    const cached = this.cacheUsage[slot] as number;
    if (
      cached >= 0 &&
      this.cacheKeys[k] === src &&
      this.cacheKeys[k + 1] === dst &&
      this.cacheKeys[k + 2] === kind
    ) {
      return this.usages[cached] as TunnelUsage;
    }
    const usage = this.slowLookup(pk);
    this.cacheKeys[k] = src;
    this.cacheKeys[k + 1] = dst;
    this.cacheKeys[k + 2] = kind;
    this.cacheUsage[slot] = this.usages.indexOf(usage);
    return usage;
  }

  private slowLookup(pk: Packet): TunnelUsage {
    const source = ipToString(pk.tunnelIpVersion, pk.tunnelSrc);
    const target = ipToString(pk.tunnelIpVersion, pk.tunnelDst);
    const key = `${pk.tunnelKind} ${source} ${target}`;
    let usage = this.byKey.get(key);
    if (usage === undefined) {
      usage = {
        kind: pk.tunnelKind,
        source,
        target,
        packets: 0,
        bytes: 0,
        overheadBytes: 0,
        innerUndecoded: 0,
      };
      this.byKey.set(key, usage);
      this.usages.push(usage);
    }
    return usage;
  }
}
