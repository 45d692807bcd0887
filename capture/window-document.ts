import { macToString } from './addresses.js';
import type { FlowConsumer } from './capture-session.js';
import { GROUP } from './decode/packet.js';
import type { DecodeStats } from './decode-stats.js';
import { flowSide, sideAddress } from './flow-record.js';
import type { FlowTable } from './flow-table.js';

/**
 * What a live collector sends for each closed time window: its flows with raw endpoints (addresses, MACs,
 * overlay ids), not node names, so that the aggregator attributes every hypervisor's traffic with the same
 * knowledge (its inventory plus every collector's VMs) and decides which capture owns a packet.
 */
export const WINDOW_SCHEMA = 'sky-plan.window@1';

/** [IP version or 0 for a MAC-only endpoint, address text, MAC or null, VLAN or null, VNI or null]. */
export type WindowEndpoint = [0 | 4 | 6, string, string | null, number | null, number | null];

/** [sender endpoint index, receiver endpoint index, bytes, packets, flags (FLOW_FLAG bits)]. */
export type WindowFlow = [number, number, number, number, number];

export const FLOW_FLAG = { newFlow: 1, broadcast: 2, multicast: 4 } as const;

export interface InterfaceCounters {
  name: string;
  /** libpcap's counts for this window: frames the filter passed, dropped by the kernel, by the interface. */
  received: number;
  dropped: number;
  ifDropped: number;
  /** Frames seen on this interface but counted on their sender's (another captured VM tap). */
  countedElsewhere: number;
}

/** A VM this collector found on its hypervisor (libvirt), so every capture of it can be attributed. */
export interface LocalVm {
  name: string;
  mac: string;
  interface: string;
}

export interface WindowDocument {
  schema: typeof WINDOW_SCHEMA;
  /** `collector/instance/seq`: the same window sent twice (a retry, a restart) has the same id. */
  id: string;
  collector: string;
  /** The hypervisor: each packet direction counts in the capture of its sender's hypervisor. */
  host: string;
  /** Start time of the collector process (ms): a restarted collector's windows never collide. */
  instance: string;
  seq: number;
  window: { seconds: number; index: number };
  byteCount: 'wire' | 'payload';
  interfaces: InterfaceCounters[];
  /** Cumulative decode statistics of this collector instance, as of the end of the window. */
  decode: DecodeStats;
  vms: LocalVm[];
  /** IPv4 → MAC bindings ARP showed in this window. */
  arp: [string, string][];
  /** Live-migration announcements counted here (sent from this hypervisor): [kind, MAC, time]. */
  announcements: ['rarp' | 'garp', string, number][];
  endpoints: WindowEndpoint[];
  flows: WindowFlow[];
}

/**
 * Collects a window's flows from the flow table as endpoint and flow rows (the table may hand over one
 * window in several parts when it drains early). It copies what it reads, and marks each direction
 * reported so that a flow counts as new once per table life, as `analyze` counts it.
 */
export class WindowBuilder implements FlowConsumer {
  private endpoints: WindowEndpoint[] = [];
  private rows: WindowFlow[] = [];
  private readonly endpointIndex = new Map<string, number>();

  window(table: FlowTable, _window: number): void {
    for (let t = 0; t < table.touchedCount; t++) {
      const slot = table.touched[t] as number;
      const a = this.endpoint(table, slot, 0);
      const b = this.endpoint(table, slot, 1);
      for (let dir = 0; dir < 2; dir++) {
        const packets = table.windowPackets(slot, dir);
        if (packets === 0) continue;
        const group = table.group(slot, dir);
        let flags = table.reported(slot, dir) ? 0 : FLOW_FLAG.newFlow;
        if (group === GROUP.broadcast) flags |= FLOW_FLAG.broadcast;
        else if (group === GROUP.multicast) flags |= FLOW_FLAG.multicast;
        table.markReported(slot, dir);
        this.rows.push([dir === 0 ? a : b, dir === 0 ? b : a, table.windowBytes(slot, dir), packets, flags]);
      }
    }
  }

  /** Hands over the rows collected so far and starts the next window empty. */
  take(): { endpoints: WindowEndpoint[]; flows: WindowFlow[] } {
    const rows = { endpoints: this.endpoints, flows: this.rows };
    this.endpoints = [];
    this.rows = [];
    this.endpointIndex.clear();
    return rows;
  }

  private endpoint(table: FlowTable, slot: number, side: 0 | 1): number {
    const f = flowSide(table, slot, side);
    const row: WindowEndpoint = [
      f.version as 0 | 4 | 6,
      sideAddress(f),
      f.mac < 0 ? null : macToString(f.mac),
      f.vlan < 0 ? null : f.vlan,
      f.vni < 0 ? null : f.vni,
    ];
    const key = row.join('|');
    let i = this.endpointIndex.get(key);
    if (i === undefined) {
      i = this.endpoints.length;
      this.endpoints.push(row);
      this.endpointIndex.set(key, i);
    }
    return i;
  }
}
