import { macToString } from './addresses.js';
import type { Packet } from './decode/packet.js';

/** A sign that a VM moved: its own announcement, or its MAC sending behind another hypervisor. */
export interface MobilityEvent {
  /** Seconds since the epoch. */
  time: number;
  mac: string;
  /** The VM the inventory gives that MAC, if any. */
  vm: string | null;
  kind: 'rarp' | 'garp' | 'host-change';
  /** Where it was seen (the capture's hypervisor, when given), and for a host change where it was before. */
  host: string | null;
  capture: string;
  from?: string;
  /** Announcement frames folded into this event (QEMU sends several). */
  frames: number;
}

/** A live migration's announcement in this frame, if any: QEMU's RARP, or a gratuitous ARP. */
export function announcementKind(pk: Packet): 'rarp' | 'garp' | undefined {
  if (pk.arpOp === 0) return undefined;
  if (pk.etherType === 0x8035) return 'rarp';
  return pk.arpSenderIp !== 0 && pk.arpSenderIp === pk.arpTargetIp ? 'garp' : undefined;
}

/** Announcements of one MAC within this many seconds are one event. */
const BURST_SECONDS = 5;
/** MACs whose sending span is tracked per capture (multi-hypervisor captures only). */
const MAX_TRACKED = 1 << 16;

/**
 * Watches captures for live migrations: QEMU's RARP announcement (`announce-self`), gratuitous ARP, and,
 * across hypervisors' captures, a MAC that stops sending behind one host and starts behind another.
 */
export class MobilityWatch {
  private readonly events: MobilityEvent[] = [];
  /** Each VM's announcements in the order seen (captures are read one after another, each in time order). */
  private readonly announcements = new Map<string, { time: number; host: string }[]>();
  /** The last announcement event per MAC, kind and host, to fold a burst into it. */
  private readonly latest = new Map<string, MobilityEvent>();
  private readonly spans: { host: string; capture: string; spans: Map<number, [number, number]> }[] = [];

  constructor(
    private readonly vmOfMac: (mac: number) => string | undefined,
    /** Track senders per capture: only worth it with captures from several hypervisors. */
    private readonly trackHosts: boolean,
  ) {}

  /** A capture's observer: call `frame` for every decoded frame. */
  capture(name: string, host: string | undefined): { frame(pk: Packet, ts: number): void } {
    const spans = new Map<number, [number, number]>();
    if (this.trackHosts && host !== undefined) this.spans.push({ host, capture: name, spans });
    const track = this.trackHosts && host !== undefined;
    return {
      frame: (pk, ts) => {
        const kind = announcementKind(pk);
        if (kind !== undefined) this.announce(kind, pk.arpSenderMac, ts, host ?? null, name);
        if (!track) return;
        const mac = pk.srcMac;
        if (mac < 0) return;
        const span = spans.get(mac);
        if (span !== undefined) span[1] = ts;
        else if (spans.size < MAX_TRACKED) spans.set(mac, [ts, ts]);
      },
    };
  }

  /**
   * The host a VM last announced itself behind (RARP or gratuitous ARP) before `until`, if any; `home`
   * is where it ran before any announcement. A bridge floods a migrated VM's announcement to every
   * port, its old tap among them while the source QEMU still holds it: one burst seen behind the old
   * host and a new one names the new one, whichever copy came first.
   */
  announcedHost(vm: string, until: number, home?: string): string | undefined {
    const list = this.announcements.get(vm);
    if (list === undefined) return undefined; // the common case, once per flow and window
    const seen = list.filter((e) => e.time < until);
    let host = home;
    let start = Number.NEGATIVE_INFINITY;
    let moved: string | undefined;
    for (const e of seen) {
      if (e.time - start >= BURST_SECONDS) {
        host = moved ?? host;
        start = e.time;
        moved = undefined;
      }
      if (moved === undefined && e.host !== host) moved = e.host;
    }
    host = moved ?? host;
    return seen.length === 0 ? undefined : host;
  }

  /** Every event, host changes included, in time order. */
  finish(): MobilityEvent[] {
    const byMac = new Map<number, { host: string; capture: string; span: [number, number] }[]>();
    for (const { host, capture, spans } of this.spans)
      for (const [mac, span] of spans) byMac.set(mac, [...(byMac.get(mac) ?? []), { host, capture, span }]);
    for (const [mac, seen] of byMac) {
      seen.sort((a, b) => a.span[0] - b.span[0]);
      for (let i = 1; i < seen.length; i++) {
        const before = seen[i - 1] as (typeof seen)[number];
        const after = seen[i] as (typeof seen)[number];
        // It moved if it stopped sending behind one host before it started behind the other.
        if (after.host === before.host || after.span[0] < before.span[1]) continue;
        this.events.push({
          time: after.span[0],
          mac: macToString(mac),
          vm: this.vmOfMac(mac) ?? null,
          kind: 'host-change',
          host: after.host,
          capture: after.capture,
          from: before.host,
          frames: 1,
        });
      }
    }
    return this.events.sort((a, b) => a.time - b.time);
  }

  /** An announcement seen behind `host` (frames of one burst fold into one event). */
  announce(kind: 'rarp' | 'garp', mac: number, time: number, host: string | null, capture: string): void {
    const key = `${mac}|${kind}|${host}`;
    const last = this.latest.get(key);
    if (last !== undefined && time - last.time < BURST_SECONDS) {
      last.frames++;
      return;
    }
    if (this.events.length >= MAX_TRACKED) return;
    const event: MobilityEvent = {
      time,
      mac: macToString(mac),
      vm: this.vmOfMac(mac) ?? null,
      kind,
      host,
      capture,
      frames: 1,
    };
    this.events.push(event);
    this.latest.set(key, event);
    if (event.vm !== null && host !== null) {
      const list = this.announcements.get(event.vm) ?? [];
      list.push({ time, host });
      list.sort((x, y) => x.time - y.time);
      this.announcements.set(event.vm, list);
    }
  }
}
