import type { Attribution } from './attribution.js';
import { Decoder } from './decode/decoder.js';
import { ACCOUNT, type Packet } from './decode/packet.js';
import { StatsCounter } from './decode-stats.js';
import type { FrameSink } from './files/frame-sink.js';
import { FlowTable, type FlowTableOptions } from './flow-table.js';
import type { TunnelOverhead } from './tunnel-overhead.js';

/** Receives flow-table contents at window ends and when the table is drained (full, or end of capture). */
export interface FlowConsumer {
  /** Reads the per-window counters of `table.touched` slots; `window` is floor(time / window size). */
  window(table: FlowTable, window: number): void;
  /** Every record in the table, before it is cleared or discarded. */
  flows?(table: FlowTable): void;
}

/**
 * Turns one capture's frames into flow records: decode, count, learn ARP, account tunnels, and cut the
 * stream into time windows. One session per capture file, so each hypervisor's view stays separate until
 * the consumer merges them.
 */
export class CaptureSession implements FrameSink {
  private readonly decoder = new Decoder();
  readonly counter = new StatsCounter();
  readonly table: FlowTable;
  private currentWindow = Number.NaN;
  private readonly windowed: boolean;

  constructor(
    private readonly attribution: Attribution,
    private readonly tunnels: TunnelOverhead,
    private readonly consumer: FlowConsumer,
    private readonly windowSeconds: number,
    flowOptions: FlowTableOptions,
    private readonly mobility?: { frame(pk: Packet, ts: number): void },
  ) {
    this.table = new FlowTable(flowOptions);
    this.windowed = Number.isFinite(windowSeconds);
  }

  frame(data: Buffer, offset: number, caplen: number, origLen: number, ts: number, linkType: number): void {
    const pk = this.decoder.decode(data, offset, caplen, origLen, linkType);
    this.counter.count(pk, ts);
    if (pk.arpOp !== 0 && pk.arpSenderIp !== 0) this.attribution.learnArp(pk.arpSenderIp, pk.arpSenderMac);
    this.mobility?.frame(pk, ts);
    if (pk.tunnelDepth > 0) this.tunnels.add(pk);
    if (pk.account === ACCOUNT.none) {
      if (!pk.tunnelContinuation) this.counter.stats.unaccounted++;
      return;
    }
    const w = this.windowed ? Math.floor(ts / this.windowSeconds) : 0;
    if (w !== this.currentWindow) {
      if (Number.isNaN(this.currentWindow)) this.currentWindow = w;
      else if (w > this.currentWindow) {
        this.endWindow();
        this.currentWindow = w;
      } else this.counter.stats.outOfOrder++;
    }
    if (!this.table.add(pk, ts)) {
      this.drain();
      this.table.add(pk, ts);
    }
  }

  /**
   * Live capture: closes the open window when time (wall clock, not packets) reached `ts`'s window, so a
   * quiet interface still emits its windows. Later stragglers of it count in the next one (outOfOrder).
   */
  closeWindowsBefore(ts: number): void {
    const w = Math.floor(ts / this.windowSeconds);
    if (!(w > this.currentWindow)) return;
    this.endWindow();
    this.currentWindow = w;
  }

  /** Hands over everything still held; call once after the last frame. */
  finish(): void {
    this.endWindow();
    this.consumer.flows?.(this.table);
  }

  private endWindow(): void {
    if (this.table.touchedCount > 0) this.consumer.window(this.table, this.currentWindow);
    this.table.endWindow();
  }

  private drain(): void {
    this.endWindow();
    this.consumer.flows?.(this.table);
    this.table.clear();
  }
}
