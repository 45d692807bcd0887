import type { FrameSink } from '../files/frame-sink.js';
import type { InterfaceCounters } from '../window-document.js';
import { type OpenOptions, openInterface, type PcapSession } from './pcap-binding.js';
import type { SenderFilter } from './sender-filter.js';

/** Receives every frame an interface delivers, before the sender filter (e.g. a rotating pcap). */
export interface FrameTee {
  frame(data: Buffer, caplen: number, origLen: number, ts: number): void;
  flush(): void;
  close(): void;
}

interface Capture {
  name: string;
  session: PcapSession;
  tee: FrameTee | undefined;
  /** libpcap's cumulative counters at the last report. */
  reported: { recv: number; drop: number; ifdrop: number };
  /** Frames seen here but counted on their sender's interface. */
  elsewhere: number;
}

/** Counters are 32-bit in libpcap: a difference across a wrap is still right. */
function delta(now: number, before: number): number {
  return (now - before + 4294967296) % 4294967296;
}

/**
 * Live capture on several interfaces of one hypervisor, all feeding one sink in arrival order. Frames
 * are borrowed from node_pcap's reused buffer for the duration of the sink call, as file readers do.
 */
export class LiveCapture {
  private readonly captures = new Map<string, Capture>();

  constructor(
    private readonly options: OpenOptions,
    private readonly sink: FrameSink,
    private readonly filter: SenderFilter,
    private readonly warn: (text: string) => void,
    private readonly tee?: (name: string, linkType: number) => FrameTee,
  ) {}

  get interfaces(): string[] {
    return [...this.captures.keys()];
  }

  /** Starts capturing one more interface (a VM's new tap); throws what opening it threw. */
  add(name: string): void {
    if (this.captures.has(name)) return;
    const { session, linkType } = openInterface(name, this.options, this.warn);
    const capture: Capture = {
      name,
      session,
      tee: this.tee?.(name, linkType),
      reported: { recv: 0, drop: 0, ifdrop: 0 },
      elsewhere: 0,
    };
    this.captures.set(name, capture);
    const counts = this.filter.forInterface(name, linkType);
    const { buf, header } = session;
    const sink = this.sink;
    const t = capture.tee;
    session.on('packet', () => {
      const caplen = header.readUInt32LE(8);
      const ts = header.readUInt32LE(0) + header.readUInt32LE(4) / 1e6;
      t?.frame(buf, caplen, header.readUInt32LE(12), ts);
      if (!counts(buf, caplen)) {
        capture.elsewhere++;
        return;
      }
      sink.frame(buf, 0, caplen, header.readUInt32LE(12), ts, linkType);
    });
  }

  /** Stops capturing an interface (a tap whose VM left). */
  remove(name: string): void {
    const c = this.captures.get(name);
    if (c === undefined) return;
    c.session.close();
    c.tee?.close();
    this.captures.delete(name);
  }

  /** Per interface, what libpcap received and dropped since the previous call (tees are flushed). */
  counters(): InterfaceCounters[] {
    return [...this.captures.values()].map((c) => {
      c.tee?.flush();
      let s = { ps_recv: c.reported.recv, ps_drop: c.reported.drop, ps_ifdrop: c.reported.ifdrop };
      try {
        s = c.session.stats();
      } catch {
        // The interface is gone (its VM stopped or left): nothing more to count.
      }
      const counters: InterfaceCounters = {
        name: c.name,
        received: delta(s.ps_recv, c.reported.recv),
        dropped: delta(s.ps_drop, c.reported.drop),
        ifDropped: delta(s.ps_ifdrop, c.reported.ifdrop),
        countedElsewhere: c.elsewhere,
      };
      c.reported = { recv: s.ps_recv, drop: s.ps_drop, ifdrop: s.ps_ifdrop };
      c.elsewhere = 0;
      return counters;
    });
  }

  /**
   * Stops delivering frames. node_pcap finishes closing only at the interface's next readable event, so
   * a process that is done capturing exits rather than waiting for it.
   */
  close(): void {
    for (const name of this.interfaces) this.remove(name);
  }
}
