import { ipv4ToString, macToString } from '../../capture/addresses.js';
import { Attribution } from '../../capture/attribution.js';
import { CaptureSession } from '../../capture/capture-session.js';
import type { DecodeStats } from '../../capture/decode-stats.js';
import type { FrameSink } from '../../capture/files/frame-sink.js';
import type { FlowTableOptions } from '../../capture/flow-table.js';
import { announcementKind } from '../../capture/mobility.js';
import { TunnelOverhead } from '../../capture/tunnel-overhead.js';
import {
  type InterfaceCounters,
  type LocalVm,
  WINDOW_SCHEMA,
  WindowBuilder,
  type WindowDocument,
} from '../../capture/window-document.js';

export interface CollectorOptions {
  collector: string;
  host: string;
  windowSeconds: number;
  flowTable: FlowTableOptions;
  vms: LocalVm[];
  /** Identifies this process's windows; defaults to its start time in ms. */
  instance?: string;
}

/** A burst of announcements is a handful of frames; more in one window is a flood, not migrations. */
const MAX_ANNOUNCEMENTS = 1024;

/** ARP bindings are learned here for the aggregator, which attributes the flows. */
class ArpLog extends Attribution {
  learned = new Map<number, number>();

  override learnArp(ip: number, mac: number): void {
    super.learnArp(ip, mac);
    if (this.learned.size < Attribution.MAX_ARP_ENTRIES) this.learned.set(ip, mac);
  }
}

/**
 * One hypervisor's live traffic cut into wall-clock windows: the frames go through the same decoder and
 * flow table as `analyze`, and each window leaves as a WindowDocument when it closes, so memory is the
 * flow table's, however long it runs.
 */
export class Collector implements FrameSink {
  private readonly arp = new ArpLog(undefined);
  private readonly builder = new WindowBuilder();
  private readonly session: CaptureSession;
  private readonly instance: string;
  private seq = 0;
  private announcements: WindowDocument['announcements'] = [];
  /** The wall-clock window now open (NaN before the first tick). */
  private openWindow = Number.NaN;

  constructor(private readonly options: CollectorOptions) {
    this.instance = options.instance ?? String(Date.now());
    this.session = new CaptureSession(
      this.arp,
      new TunnelOverhead(),
      this.builder,
      options.windowSeconds,
      options.flowTable,
      {
        frame: (pk, ts) => {
          const kind = announcementKind(pk);
          if (kind !== undefined && this.announcements.length < MAX_ANNOUNCEMENTS) {
            this.announcements.push([kind, macToString(pk.arpSenderMac), ts]);
          }
        },
      },
    );
  }

  /** The VMs on this hypervisor from now on (sent with every window, for attribution). */
  setVms(vms: LocalVm[]): void {
    this.options.vms = vms;
  }

  frame(data: Buffer, offset: number, caplen: number, origLen: number, ts: number, linkType: number): void {
    this.session.frame(data, offset, caplen, origLen, ts, linkType);
  }

  /**
   * Advances the window clock to `now` (seconds): returns the document of the window that closed, if one
   * did. `counters` are read only then, so they cover exactly that window.
   */
  tick(now: number, counters: () => InterfaceCounters[]): WindowDocument | undefined {
    const w = Math.floor(now / this.options.windowSeconds);
    if (Number.isNaN(this.openWindow)) this.openWindow = w;
    if (!(w > this.openWindow)) return undefined;
    this.session.closeWindowsBefore(w * this.options.windowSeconds);
    const doc = this.document(this.openWindow, counters());
    this.openWindow = w;
    return doc;
  }

  /**
   * An empty window just before `now`'s, sent first: the aggregator learns of this hypervisor before any
   * window of the others could be counted without it (its traffic would count twice).
   */
  hello(now: number): WindowDocument {
    return this.document(Math.floor(now / this.options.windowSeconds) - 1, []);
  }

  /** Closes the open window now (SIGINT, SIGTERM): its document covers the part that was captured. */
  flush(counters: () => InterfaceCounters[]): WindowDocument {
    this.session.closeWindowsBefore(Number.POSITIVE_INFINITY);
    const now = Date.now() / 1000;
    const w = Number.isNaN(this.openWindow) ? Math.floor(now / this.options.windowSeconds) : this.openWindow;
    return this.document(w, counters());
  }

  private document(index: number, interfaces: InterfaceCounters[]): WindowDocument {
    const { endpoints, flows } = this.builder.take();
    const o = this.options;
    const seq = this.seq++;
    const arp: [string, string][] = [...this.arp.learned].map(([ip, mac]) => [
      ipv4ToString(ip),
      macToString(mac),
    ]);
    this.arp.learned.clear();
    const announcements = this.announcements;
    this.announcements = [];
    return {
      schema: WINDOW_SCHEMA,
      id: `${o.collector}/${this.instance}/${seq}`,
      collector: o.collector,
      host: o.host,
      instance: this.instance,
      seq,
      window: { seconds: o.windowSeconds, index },
      byteCount: o.flowTable.count,
      interfaces,
      decode: snapshot(this.session.counter.finish().stats),
      vms: o.vms,
      arp,
      announcements,
      endpoints,
      flows,
    };
  }
}

function snapshot(stats: DecodeStats): DecodeStats {
  return { ...stats, reasons: { ...stats.reasons } };
}
