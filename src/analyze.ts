import { Attribution } from '../capture/attribution.js';
import { CaptureSession } from '../capture/capture-session.js';
import type { DecodeStats } from '../capture/decode-stats.js';
import { readCapture } from '../capture/files/read-capture.js';
import type { FlowRecord } from '../capture/flow-record.js';
import { FLOW_TABLE_DEFAULTS, type FlowTableOptions } from '../capture/flow-table.js';
import { type MobilityEvent, MobilityWatch } from '../capture/mobility.js';
import { TrafficGraph } from '../capture/traffic-graph.js';
import { TunnelOverhead, type TunnelUsage } from '../capture/tunnel-overhead.js';
import type { InterfaceCounters } from '../capture/window-document.js';
import { knownVms } from './inventory/load-inventory.js';
import type { Inventory } from './inventory/schema.js';
import { utcTime } from './utc-time.js';

export interface CaptureInput {
  path: string;
  /** The hypervisor the capture was taken on; enables counting each packet once across hypervisors. */
  host?: string | undefined;
}

export interface AnalyzeOptions {
  inventory?: Inventory | undefined;
  /** Window length in seconds; undefined for one window over the whole capture. */
  windowSeconds?: number | undefined;
  flowTable?: FlowTableOptions;
  /** Called with every flow record (e.g. to write them out); records are not kept otherwise. */
  onFlow?: (record: FlowRecord) => void;
  /** Called as each capture is opened, with how to tell how far its reading has got. */
  onFile?: (file: ReadingFile) => void;
}

/** A capture being read: which of how many, its bytes read so far of its size, its frames so far. */
export interface ReadingFile {
  path: string;
  index: number;
  files: number;
  consumed: () => number;
  size: number | undefined;
  frames: () => number;
}

export interface CaptureReport {
  path: string;
  host: string | null;
  /** A file, a live collector (`sky-plan capture`), or a flow exporter (NetFlow, IPFIX, sFlow). */
  format: 'pcap' | 'pcapng' | 'live' | 'flow-export';
  stats: DecodeStats;
  warnings: string[];
  /** Live collectors: windows received and per-interface capture counters over them. */
  windows?: number;
  interfaces?: InterfaceCounters[];
}

export interface Analysis {
  captures: CaptureReport[];
  traffic: TrafficGraph;
  tunnels: TunnelUsage[];
  /** Signs of live migrations during the capture. */
  mobility: MobilityEvent[];
  byteCount: 'wire' | 'payload';
  windowSeconds: number | undefined;
  inventory: Inventory | undefined;
  /** Flow-table pressure: endpoint-pair folding and early drains, when a flow explosion hit the limit. */
  flowTable: { foldedPackets: number; earlyDrains: number };
  warnings: string[];
}

const YEAR_SECONDS = 365.25 * 86400;
/** 2200-01-01T00:00:00Z: later capture times are a clock gone wrong, not a capture. */
const YEAR_2200 = 7258118400;

/** Reads every capture in turn into one traffic graph. Memory is bounded by the flow table, not the files. */
export async function analyzeCaptures(
  inputs: readonly CaptureInput[],
  options: AnalyzeOptions = {},
): Promise<Analysis> {
  const attribution = new Attribution(
    options.inventory === undefined ? undefined : knownVms(options.inventory),
  );
  const capturedHosts = new Set(inputs.flatMap((i) => (i.host === undefined ? [] : [i.host])));

  const tunnels = new TunnelOverhead();
  const mobility = new MobilityWatch((mac) => attribution.vmOfMac(mac), capturedHosts.size >= 2);
  const traffic = new TrafficGraph(
    attribution,
    capturedHosts,
    options.windowSeconds !== undefined,
    options.onFlow,
    (vm, until, home) => mobility.announcedHost(vm, until, home),
    options.windowSeconds,
  );
  const captures: CaptureReport[] = [];
  const warnings: string[] = [];
  const flowTable = { foldedPackets: 0, earlyDrains: 0 };
  for (const input of inputs) {
    const session = new CaptureSession(
      attribution,
      tunnels,
      traffic.consumerFor({ name: input.path, host: input.host }),
      options.windowSeconds ?? Number.POSITIVE_INFINITY,
      options.flowTable ?? FLOW_TABLE_DEFAULTS,
      mobility.capture(input.path, input.host),
    );
    const read = await readCapture(input.path, session, (source) =>
      options.onFile?.({
        path: input.path,
        index: captures.length,
        files: inputs.length,
        consumed: () => source.consumed,
        size: source.size,
        frames: () => session.counter.stats.frames,
      }),
    );
    session.finish();
    const { stats, warnings: decodeWarnings } = session.counter.finish();
    const fileWarnings = [...read.warnings, ...decodeWarnings];
    if (session.table.foldedPackets > 0) {
      fileWarnings.push(
        `flow explosion: the flow table neared its limit of ${session.table.options.maxFlows} flows, so ${session.table.foldedPackets} packets of new 5-tuples were aggregated by endpoint pair`,
      );
    }
    const span = stats.firstTime === null || stats.lastTime === null ? 0 : stats.lastTime - stats.firstTime;
    if (
      (stats.firstTime !== null && stats.firstTime < 0) ||
      (stats.lastTime !== null && stats.lastTime > YEAR_2200)
    ) {
      fileWarnings.push(
        `timestamps reach outside 1970-2200 (${utcTime(stats.firstTime ?? 0)} to ${utcTime(stats.lastTime ?? 0)}): a capture clock was wrong`,
      );
    }
    if (span > YEAR_SECONDS) {
      fileWarnings.push(
        `timestamps span ${(span / YEAR_SECONDS).toFixed(1)} years (${utcTime(stats.firstTime ?? 0)} to ${utcTime(stats.lastTime ?? 0)}): a capture clock was wrong, so mean rates are meaningless`,
      );
    }
    flowTable.foldedPackets += session.table.foldedPackets;
    flowTable.earlyDrains += session.table.earlyDrains;
    captures.push({
      path: input.path,
      host: input.host ?? null,
      format: read.format,
      stats,
      warnings: fileWarnings,
    });
    warnings.push(...fileWarnings.map((w) => `${input.path}: ${w}`));
  }
  return {
    captures,
    traffic,
    tunnels: tunnels.list(),
    mobility: mobility.finish(),
    byteCount: (options.flowTable ?? FLOW_TABLE_DEFAULTS).count,
    windowSeconds: options.windowSeconds,
    inventory: options.inventory,
    flowTable,
    warnings,
  };
}
