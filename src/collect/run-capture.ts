import { parseMac } from '../../capture/addresses.js';
import type { FlowTableOptions } from '../../capture/flow-table.js';
import { LiveCapture } from '../../capture/live/live-capture.js';
import type { OpenOptions } from '../../capture/live/pcap-binding.js';
import { RotatingPcap } from '../../capture/live/rotating-pcap.js';
import { SenderFilter } from '../../capture/live/sender-filter.js';
import type { LocalVm, WindowDocument } from '../../capture/window-document.js';
import { Collector } from './collector.js';

export interface RunCaptureOptions {
  /** Interfaces named on the command line; the VMs' taps are added to them. */
  interfaces: string[];
  open: OpenOptions;
  collector: string;
  host: string;
  windowSeconds: number;
  flowTable: FlowTableOptions;
  /** Taps the operator named, each with the MAC of the VM behind it: their frames count like libvirt's. */
  taps?: ReadonlyMap<string, number>;
  /** VMs on this hypervisor with their taps (libvirt); their frames count on their own tap only. */
  vms: LocalVm[];
  /** Reads the VMs again every `seconds` (VMs start, stop and migrate): taps come and go with them. */
  refreshVms?: { seconds: number; read: () => Promise<LocalVm[]> } | undefined;
  /** Raw frames too, per interface, in pcap files rolled over every `rotateSeconds`, `keep` kept. */
  pcap?: { dir: string; rotateSeconds: number; keep: number } | undefined;
  /** Where each closed window goes (NDJSON, an aggregator). */
  emit: (doc: WindowDocument) => void;
  warn: (text: string) => void;
  /** Called once every interface is open: capture has begun. */
  started?: (interfaces: string[]) => void;
}

export interface CaptureSummary {
  /** The interfaces captured at the end. */
  interfaces: string[];
  windows: number;
  frames: number;
  bytes: number;
  kernelDrops: number;
  interfaceDrops: number;
}

/**
 * Captures until `stop` resolves, emitting each window as it closes and the open one at the end. The
 * window clock runs on wall time, a little behind it so that frames libpcap still holds make their window.
 */
export async function runCapture(options: RunCaptureOptions, stop: Promise<void>): Promise<CaptureSummary> {
  const collector = new Collector({
    collector: options.collector,
    host: options.host,
    windowSeconds: options.windowSeconds,
    flowTable: options.flowTable,
    vms: options.vms,
  });
  const filter = new SenderFilter();
  const named = options.taps ?? new Map<string, number>();
  const untapped = options.interfaces.filter((i) => !named.has(i));
  if (options.vms.length === 0 && untapped.length > 1) {
    options.warn(
      `capturing ${untapped.length} interfaces without knowing which VM is behind each (--tap or --libvirt): a frame that crosses two of them counts twice`,
    );
  }
  const pcap = options.pcap;
  const live = new LiveCapture(
    options.open,
    collector,
    filter,
    options.warn,
    pcap === undefined
      ? undefined
      : (name, linkType) =>
          new RotatingPcap(pcap.dir, name, linkType, options.open.snaplen, pcap.rotateSeconds, pcap.keep),
  );
  const taps = new Set<string>();
  /** Captures the taps of `vms` (and no longer those of VMs that left), and counts frames on them. */
  const follow = (vms: LocalVm[], initial: boolean) => {
    const now = new Set(vms.map((vm) => vm.interface));
    for (const tap of taps) {
      if (!now.has(tap) && !options.interfaces.includes(tap)) live.remove(tap);
    }
    taps.clear();
    for (const vm of vms) {
      try {
        live.add(vm.interface);
        taps.add(vm.interface);
      } catch (err) {
        if (initial) throw err;
        options.warn(`cannot capture ${vm.name}'s tap ${vm.interface}: ${(err as Error).message}`);
      }
    }
    filter.setTaps(
      new Map([
        ...named,
        ...vms
          .filter((vm) => taps.has(vm.interface))
          .map((vm) => [vm.interface, parseMac(vm.mac) as number] as const),
      ]),
    );
    collector.setVms(vms);
  };
  try {
    for (const name of options.interfaces) live.add(name);
    follow(options.vms, true);
  } catch (err) {
    live.close();
    throw err;
  }
  options.started?.(live.interfaces);
  options.emit(collector.hello(Date.now() / 1000));
  const refresh = options.refreshVms;
  let refreshing = false;
  const refresher =
    refresh === undefined
      ? undefined
      : setInterval(() => {
          if (refreshing) return;
          refreshing = true;
          refresh
            .read()
            .then((vms) => follow(vms, false))
            .catch((err: Error) => options.warn(`could not read the VMs again: ${err.message}`))
            .finally(() => {
              refreshing = false;
            });
        }, refresh.seconds * 1000);
  const summary: CaptureSummary = {
    interfaces: [],
    windows: 0,
    frames: 0,
    bytes: 0,
    kernelDrops: 0,
    interfaceDrops: 0,
  };
  const emit = (doc: WindowDocument) => {
    summary.windows++;
    summary.frames = doc.decode.frames;
    summary.bytes = doc.decode.bytes;
    for (const i of doc.interfaces) {
      summary.kernelDrops += i.dropped;
      summary.interfaceDrops += i.ifDropped;
      if (i.dropped + i.ifDropped > 0) {
        options.warn(
          `${i.name}: ${i.dropped} frames dropped by the kernel, ${i.ifDropped} by the interface in window ${doc.window.index} (raise --buffer, narrow --filter or lower --snaplen)`,
        );
      }
    }
    options.emit(doc);
  };
  const lagSeconds = (options.open.immediate ? 0 : options.open.timeoutMs / 1000) + 0.25;
  const counters = () => live.counters();
  const clock = setInterval(() => {
    const doc = collector.tick(Date.now() / 1000 - lagSeconds, counters);
    if (doc !== undefined) emit(doc);
  }, 100);
  collector.tick(Date.now() / 1000 - lagSeconds, counters);
  await stop;
  clearInterval(clock);
  if (refresher !== undefined) clearInterval(refresher);
  // Frames libpcap already holds are read before the last window closes.
  await new Promise((resolve) => setTimeout(resolve, lagSeconds * 1000));
  emit(collector.flush(counters));
  summary.interfaces = live.interfaces;
  live.close();
  return summary;
}
