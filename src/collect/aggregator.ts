import { parseIp, parseMac } from '../../capture/addresses.js';
import { Attribution, type FlowSide } from '../../capture/attribution.js';
import { GROUP } from '../../capture/decode/packet.js';
import { type DecodeStats, emptyStats } from '../../capture/decode-stats.js';
import type { ExportedFlow } from '../../capture/flow-export/exported-flow.js';
import { MobilityWatch } from '../../capture/mobility.js';
import { type CaptureContext, TrafficGraph } from '../../capture/traffic-graph.js';
import {
  FLOW_FLAG,
  type InterfaceCounters,
  type WindowDocument,
  type WindowEndpoint,
} from '../../capture/window-document.js';
import type { Analysis, CaptureReport } from '../analyze.js';
import { knownVms } from '../inventory/load-inventory.js';
import type { Inventory } from '../inventory/schema.js';
import { learnFromWindow } from './learn-window.js';

export interface AggregatorOptions {
  inventory?: Inventory | undefined;
  windowSeconds: number;
  byteCount: 'wire' | 'payload';
  /** Flow exporter address → the hypervisor it exports for (so its flows dedup against collectors). */
  exporterHosts?: ReadonlyMap<string, string>;
  /** Per-window series older than this many windows are dropped (totals stay): bounded memory. */
  retainWindows?: number;
  /** Milliseconds now (tests drive it); tells a silent collector from one that is only behind. */
  now?: () => number;
}

interface Source {
  host: string | undefined;
  kind: 'live' | 'flow-export';
  windows: number;
  /** Per collector instance: the last window seq taken, and its cumulative decode statistics. */
  instances: Map<string, { lastSeq: number; lastStart: number; decode: DecodeStats }>;
  interfaces: Map<string, InterfaceCounters>;
  /** Flow exports: what the records said, as decode statistics. */
  exported: DecodeStats;
  /** The exporter meters traffic as it enters (any record not marked egress): see addExportedFlows. */
  meterIngress: boolean;
  /** Live collectors: the latest window received (aggregator windows) and when (ms, the clock's). */
  latestWindow: number;
  lastSeen: number;
}

const NO_WORDS = new Uint32Array(4);
/** Bounds on what senders can make the aggregator remember, whatever they send. */
const MAX_SOURCES = 10_000;
const MAX_INSTANCES_PER_SOURCE = 64;
const MAX_INTERFACES_PER_SOURCE = 4096;

/** A collector silent for this many windows no longer holds the others' windows back. */
const SILENT_WINDOWS = 3;

/** A window the aggregator will not count (the message says why); nothing of it was added. */
export class RefusedWindow extends Error {}

/** How far ahead of the aggregator's clock a window or flow may be (clock skew between hosts). */
const MAX_CLOCK_AHEAD_SECONDS = 300;
/** Windows a collector's seq may run ahead of the time between its windows (hellos, restarts of its clock). */
const MAX_SEQ_SLACK = 1000;

/**
 * One communication graph from many hypervisors' windows and flow exports. Attribution happens here,
 * with the inventory plus the VMs every collector found, so a VM is the same node whichever hypervisor
 * saw it; each packet direction counts in its sender's hypervisor's capture (TrafficGraph's rule), and a
 * window id seen before is acknowledged and ignored.
 */
export class Aggregator {
  private readonly attribution: Attribution;
  private readonly hosts = new Set<string>();
  readonly traffic: TrafficGraph;
  private readonly sources = new Map<string, Source>();
  private readonly hostCloud: Map<string, string | undefined>;
  private newestWindow = Number.NEGATIVE_INFINITY;
  /**
   * Windows received but not counted yet, by window index: a window is counted once every collector
   * that is not silent sent a later one, so that all hypervisors' views of that time, and a migration
   * one of them announced, are in first. Each packet direction then counts once, at its sender's.
   */
  private readonly pending = new Map<number, Waiting[]>();
  private settledUpTo = Number.NEGATIVE_INFINITY;
  /** Migrations announced (RARP, gratuitous ARP): from then on a VM sends from the announcing host. */
  private readonly mobility: MobilityWatch;
  duplicateWindows = 0;
  /** Changes with every window or record taken, so readers can cache what they derive. */
  version = 0;

  constructor(private readonly options: AggregatorOptions) {
    const inv = options.inventory;
    this.attribution = new Attribution(inv === undefined ? undefined : knownVms(inv));
    this.hostCloud = new Map((inv?.hosts ?? []).map((h) => [h.name, h.cloud]));
    this.mobility = new MobilityWatch((mac) => this.attribution.vmOfMac(mac), false);
    this.traffic = new TrafficGraph(
      this.attribution,
      this.hosts,
      true,
      undefined,
      (vm, until, home) => this.mobility.announcedHost(vm, until, home),
      options.windowSeconds,
    );
  }

  /** Takes a validated window; false when this id was taken before (a resend). */
  addWindow(doc: WindowDocument): boolean {
    if (doc.byteCount !== this.options.byteCount) {
      throw new RefusedWindow(
        `this aggregator counts ${this.options.byteCount} bytes, the window ${doc.byteCount} bytes`,
      );
    }
    const source = this.source(`collector ${doc.collector}`, doc.host, 'live');
    const instance = source.instances.get(doc.instance);
    if (instance !== undefined && doc.seq <= instance.lastSeq) {
      this.duplicateWindows++;
      return false;
    }
    // Checked before anything is kept: a window from the far future would prune every series' history,
    // and a seq far ahead would make each later window of its collector look like a resend.
    const start = doc.window.index * doc.window.seconds;
    const end = start + doc.window.seconds;
    this.checkTime(`the window's start`, start);
    if (instance !== undefined) {
      const elapsed = Math.max(0, start - instance.lastStart) / doc.window.seconds;
      if (doc.seq - instance.lastSeq > elapsed + MAX_SEQ_SLACK)
        throw new RefusedWindow(
          `seq ${doc.seq} is ${doc.seq - instance.lastSeq} past this collector's last (${instance.lastSeq}), but only ${Math.round(elapsed)} windows of time went by`,
        );
    }
    for (const [kind, , time] of doc.announcements) {
      if (time < start - doc.window.seconds || time > end + doc.window.seconds)
        throw new RefusedWindow(`a ${kind} announcement at ${time} lies outside its window ${start}-${end}`);
    }
    if (instance === undefined && source.instances.size >= MAX_INSTANCES_PER_SOURCE) {
      // The oldest instance's late resends could count twice now; a restart loop is the only cause.
      const oldest = source.instances.keys().next().value as string;
      source.instances.delete(oldest);
    }
    source.instances.set(doc.instance, { lastSeq: doc.seq, lastStart: start, decode: doc.decode });
    source.windows++;
    source.lastSeen = this.clock();
    for (const i of doc.interfaces) {
      const total = source.interfaces.get(i.name);
      if (total === undefined) {
        if (source.interfaces.size < MAX_INTERFACES_PER_SOURCE) source.interfaces.set(i.name, { ...i });
      } else {
        total.received += i.received;
        total.dropped += i.dropped;
        total.ifDropped += i.ifDropped;
        total.countedElsewhere += i.countedElsewhere;
      }
    }
    learnFromWindow(this.attribution, doc, (h) => this.hostCloud.get(h));
    // Counted once the window settled: every hypervisor's view of it (announcements first) is in.
    const window = this.windowOf(doc.window.index * doc.window.seconds);
    if (window > source.latestWindow) source.latestWindow = window;
    const waiting = packFlows(doc, window);
    if (window <= this.settledUpTo) this.count([waiting]);
    else {
      const docs = this.pending.get(window);
      if (docs === undefined) this.pending.set(window, [waiting]);
      else docs.push(waiting);
      this.settle(this.settledByAll());
    }
    return true;
  }

  /** The last window every collector that is not silent has gone past. */
  private settledByAll(): number {
    const silentAfter = SILENT_WINDOWS * this.options.windowSeconds * 1000;
    let upTo = Number.POSITIVE_INFINITY;
    for (const s of this.sources.values()) {
      if (s.kind === 'live' && this.clock() - s.lastSeen < silentAfter)
        upTo = Math.min(upTo, s.latestWindow - 1);
    }
    return upTo;
  }

  private clock(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Counts every window still waiting to settle (at the end of a run, or of the input files). */
  settleAll(): void {
    // Up to the last window held, not beyond: windows that come later (after replaying a journal, before
    // listening) still wait for every hypervisor's view of their time.
    let last = this.settledUpTo;
    for (const w of this.pending.keys()) if (w > last) last = w;
    this.settle(last);
  }

  private settle(upTo: number): void {
    const ready = [...this.pending.keys()].filter((w) => w <= upTo).sort((x, y) => x - y);
    for (const w of ready) {
      this.count(this.pending.get(w) ?? []);
      this.pending.delete(w);
    }
    if (upTo > this.settledUpTo) this.settledUpTo = upTo;
  }

  /** Counts the flows of windows of one time window, after taking all their migration announcements. */
  private count(docs: readonly Waiting[]): void {
    for (const { doc } of docs) {
      for (const [kind, mac, time] of doc.announcements) {
        const m = parseMac(mac);
        if (m !== undefined) this.mobility.announce(kind, m, time, doc.host, `collector ${doc.collector}`);
      }
    }
    for (const { doc, flows, window } of docs) {
      const endpoints = doc.endpoints.map((e) => this.attribution.resolve(endpointSide(e)));
      const context: CaptureContext = { name: `collector ${doc.collector}`, host: doc.host };
      for (let i = 0; i < flows.length; i += 5) {
        const flags = flows[i + 4] as number;
        const group =
          flags & FLOW_FLAG.broadcast
            ? GROUP.broadcast
            : flags & FLOW_FLAG.multicast
              ? GROUP.multicast
              : GROUP.none;
        this.traffic.addDirected(
          endpoints[flows[i] as number] as (typeof endpoints)[number],
          endpoints[flows[i + 1] as number] as (typeof endpoints)[number],
          group,
          flows[i + 2] as number,
          flows[i + 3] as number,
          (flags & FLOW_FLAG.newFlow) !== 0,
          window,
          context,
        );
      }
    }
    this.version++;
  }

  /**
   * Takes flow records from an exporter (NetFlow, IPFIX, sFlow), already scaled by their sampling rate.
   * A record timed more than MAX_CLOCK_AHEAD_SECONDS ahead of this aggregator's clock is counted at the
   * time it arrived: exporters' clocks are often wrong (softflowd reading a file reports flows weeks
   * ahead), and such a time would prune every series' history. Returns how many were.
   */
  addExportedFlows(exporter: string, flows: readonly ExportedFlow[]): number {
    const host = this.options.exporterHosts?.get(exporter);
    const name = `exporter ${exporter}`;
    const source = this.source(name, host, 'flow-export');
    const context: CaptureContext = { name, host };
    const stats = source.exported;
    const now = this.clock() / 1000;
    let ahead = 0;
    // A switch that meters each packet both entering and leaving its ports (Open vSwitch's default)
    // reports it twice, the second time as egress by a named port: once it is seen metering ingress,
    // those egress records are left out. An exporter that meters only egress is counted from them, and
    // one that names no port (softflowd marks one half of each bidirectional flow egress) from all.
    if (!source.meterIngress && flows.some((f) => !f.egress)) source.meterIngress = true;
    for (const f of flows) {
      if (f.egress && f.outPort !== '' && source.meterIngress) continue;
      const late = !(f.last <= now + MAX_CLOCK_AHEAD_SECONDS && f.first <= now + MAX_CLOCK_AHEAD_SECONDS);
      if (late) ahead++;
      const [first, last] = late ? [now, now] : [f.first, f.last];
      // Flow records count IP bytes; the Ethernet header (and a VLAN tag) each packet carried is added back.
      const bytes =
        this.options.byteCount === 'wire' && !f.frameBytes
          ? f.bytes + f.packets * (14 + (f.vlan >= 0 ? 4 : 0))
          : f.bytes;
      const from: FlowSide = { version: f.ipVersion, words: f.src, mac: f.srcMac, vlan: f.vlan, vni: f.vni };
      const to: FlowSide = { version: f.ipVersion, words: f.dst, mac: f.dstMac, vlan: f.vlan, vni: f.vni };
      // A port the exporter names is where the frames physically entered or left: it outranks addresses.
      const sender =
        host === undefined || f.inPort === '' ? undefined : this.attribution.vmOnPort(host, f.inPort);
      const receiver =
        host === undefined || f.outPort === '' ? undefined : this.attribution.vmOnPort(host, f.outPort);
      this.traffic.addDirected(
        sender ?? this.attribution.resolve(from),
        receiver ?? this.attribution.resolve(to),
        f.group,
        bytes,
        f.packets,
        true,
        this.windowOf(last),
        context,
      );
      stats.frames += f.packets;
      stats.ok += f.packets;
      stats.bytes += bytes;
      if (first > 0) stats.firstTime = Math.min(stats.firstTime ?? first, first);
      if (last > 0) stats.lastTime = Math.max(stats.lastTime ?? last, last);
    }
    this.version++;
    return ahead;
  }

  private checkTime(what: string, seconds: number): void {
    const latest = this.clock() / 1000 + MAX_CLOCK_AHEAD_SECONDS;
    if (seconds > latest)
      throw new RefusedWindow(
        `${what} (${seconds} s) is more than ${MAX_CLOCK_AHEAD_SECONDS} s ahead of this aggregator's clock (${Math.floor(latest - MAX_CLOCK_AHEAD_SECONDS)} s): check the collector's clock`,
      );
  }

  /** What `analyze` would have produced, for graph@1 and the summary. */
  analysis(extraWarnings: readonly string[] = []): Analysis {
    const captures: CaptureReport[] = [];
    const warnings: string[] = [];
    for (const [path, s] of this.sources) {
      const stats =
        s.kind === 'live' ? mergeDecode([...s.instances.values()].map((i) => i.decode)) : s.exported;
      const report: CaptureReport = { path, host: s.host ?? null, format: s.kind, stats, warnings: [] };
      if (s.kind === 'live') {
        report.windows = s.windows;
        report.interfaces = [...s.interfaces.values()];
        for (const i of report.interfaces) {
          if (i.dropped + i.ifDropped > 0) {
            report.warnings.push(
              `${i.name}: ${i.dropped} frames dropped by the kernel, ${i.ifDropped} by the interface`,
            );
          }
        }
      }
      warnings.push(...report.warnings.map((w) => `${path}: ${w}`));
      captures.push(report);
    }
    if (this.duplicateWindows > 0) {
      warnings.push(
        `${this.duplicateWindows} windows were received again (collector retries) and counted once`,
      );
    }
    return {
      captures,
      traffic: this.traffic,
      tunnels: [],
      mobility: this.mobility.finish(),
      byteCount: this.options.byteCount,
      windowSeconds: this.options.windowSeconds,
      inventory: this.options.inventory,
      flowTable: { foldedPackets: 0, earlyDrains: 0 },
      warnings: [...warnings, ...extraWarnings],
    };
  }

  private source(path: string, host: string | undefined, kind: Source['kind']): Source {
    let s = this.sources.get(path);
    if (s === undefined) {
      if (this.sources.size >= MAX_SOURCES) throw new RefusedWindow(`more than ${MAX_SOURCES} sources`);
      s = {
        host,
        kind,
        windows: 0,
        instances: new Map(),
        interfaces: new Map(),
        exported: emptyStats(),
        meterIngress: false,
        latestWindow: Number.NEGATIVE_INFINITY,
        lastSeen: this.clock(),
      };
      this.sources.set(path, s);
      // From now on a packet sent from this hypervisor counts only in its own capture.
      if (host !== undefined) this.hosts.add(host);
    }
    return s;
  }

  private windowOf(time: number): number {
    const w = Math.floor(time / this.options.windowSeconds);
    if (w > this.newestWindow) {
      this.newestWindow = w;
      this.prune(w - (this.options.retainWindows ?? Number.POSITIVE_INFINITY));
    }
    return w;
  }

  private prune(before: number): void {
    if (!Number.isFinite(before)) return;
    for (const e of this.traffic.edges.values()) {
      for (const w of e.series?.keys() ?? []) if (w < before) e.series?.delete(w);
    }
  }
}

/** A window waiting to be counted: its flows packed five numbers each (a tenth of the arrays' memory). */
interface Waiting {
  doc: WindowDocument;
  flows: Float64Array;
  /** Its aggregator window. */
  window: number;
}

function packFlows(doc: WindowDocument, window: number): Waiting {
  const flows = new Float64Array(doc.flows.length * 5);
  doc.flows.forEach((f, i) => {
    flows.set(f, i * 5);
  });
  return { doc: { ...doc, flows: [] }, flows, window };
}

/** A window's endpoint row as attribution reads it. */
export function endpointSide([version, address, mac, vlan, vni]: WindowEndpoint): FlowSide {
  const macNumber = mac === null ? -1 : (parseMac(mac) ?? -1);
  const words = version === 0 ? NO_WORDS : (parseIp(address)?.words ?? NO_WORDS);
  return {
    version,
    words,
    mac: version === 0 ? (parseMac(address) ?? -1) : macNumber,
    vlan: vlan ?? -1,
    vni: vni ?? -1,
  };
}

function mergeDecode(all: DecodeStats[]): DecodeStats {
  const total = emptyStats();
  for (const s of all) {
    for (const k of [
      'frames',
      'bytes',
      'ok',
      'truncated',
      'malformed',
      'unsupported',
      'unaccounted',
      'outOfOrder',
      'tunnelDepthExceeded',
    ] as const) {
      total[k] += s[k] ?? 0;
    }
    for (const [r, n] of Object.entries(s.reasons ?? {})) total.reasons[r] = (total.reasons[r] ?? 0) + n;
    if (s.firstTime !== null) total.firstTime = Math.min(total.firstTime ?? s.firstTime, s.firstTime);
    if (s.lastTime !== null) total.lastTime = Math.max(total.lastTime ?? s.lastTime, s.lastTime);
  }
  return total;
}
