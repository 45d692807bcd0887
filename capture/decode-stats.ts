import { type Packet, STATUS } from './decode/packet.js';
import { linkTypeName } from './link-types.js';

/** Per-capture counts of what the decoder made of every frame; nothing is dropped silently. */
export interface DecodeStats {
  frames: number;
  bytes: number;
  ok: number;
  truncated: number;
  malformed: number;
  unsupported: number;
  /** "status:reason" → frames, e.g. "malformed:ipv4_bad_version", "unsupported:link_type 147 (USER0)". */
  reasons: Record<string, number>;
  /** Frames with no address to account them to (e.g. a tunnel whose inner frame was cut off). */
  unaccounted: number;
  /** Frames older than the window being filled, added to it rather than reopening a closed window. */
  outOfOrder: number;
  tunnelDepthExceeded: number;
  firstTime: number | null;
  lastTime: number | null;
}

export function emptyStats(): DecodeStats {
  return {
    frames: 0,
    bytes: 0,
    ok: 0,
    truncated: 0,
    malformed: 0,
    unsupported: 0,
    reasons: {},
    unaccounted: 0,
    outOfOrder: 0,
    tunnelDepthExceeded: 0,
    firstTime: null,
    lastTime: null,
  };
}

const STATUS_NAMES = ['ok', 'truncated', 'malformed', 'unsupported'] as const;

/** Counts decoded frames without allocating: reasons are counted per status in maps keyed by constants. */
export class StatsCounter {
  readonly stats = emptyStats();
  private readonly reasonCounts = STATUS_NAMES.map(() => new Map<string, number>());
  private readonly linkTypeCounts = new Map<number, number>();
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;

  count(pk: Packet, ts: number): void {
    const s = this.stats;
    s.frames++;
    s.bytes += pk.origLen;
    if (ts > 0) {
      // SPB frames carry no timestamp (0); they must not stretch the time range to 1970.
      if (ts < this.first) this.first = ts;
      if (ts > this.last) this.last = ts;
    }
    if (pk.tunnelDepthExceeded) s.tunnelDepthExceeded++;
    switch (pk.status) {
      case STATUS.ok:
        s.ok++;
        return;
      case STATUS.truncated:
        s.truncated++;
        break;
      case STATUS.malformed:
        s.malformed++;
        break;
      case STATUS.unsupported:
        s.unsupported++;
        break;
    }
    if (pk.reason === 'link_type') {
      this.linkTypeCounts.set(pk.linkType, (this.linkTypeCounts.get(pk.linkType) ?? 0) + 1);
      return;
    }
    const counts = this.reasonCounts[pk.status] as Map<string, number>;
    counts.set(pk.reason, (counts.get(pk.reason) ?? 0) + 1);
  }

  finish(): { stats: DecodeStats; warnings: string[] } {
    const warnings: string[] = [];
    this.reasonCounts.forEach((counts, status) => {
      for (const [reason, n] of counts) this.stats.reasons[`${STATUS_NAMES[status]}:${reason}`] = n;
    });
    for (const [linkType, n] of this.linkTypeCounts) {
      this.stats.reasons[`unsupported:link_type ${linkTypeName(linkType)}`] = n;
      warnings.push(
        `link type ${linkTypeName(linkType)} is not supported: ${n} frames counted as unsupported`,
      );
    }
    if (this.first <= this.last) {
      this.stats.firstTime = this.first;
      this.stats.lastTime = this.last;
    }
    return { stats: this.stats, warnings };
  }
}
