import type { Attribution, Endpoint, NodeKind } from './attribution.js';
import type { FlowConsumer } from './capture-session.js';
import { countedHere } from './counting-host.js';
import { GROUP } from './decode/packet.js';
import { type FlowRecord, flowRecord, flowSide } from './flow-record.js';
import type { FlowTable } from './flow-table.js';

export interface TrafficNode {
  id: string;
  kind: NodeKind;
  cloud?: string;
  host?: string;
  vcpus?: number;
  memoryGiB?: number;
  sentBytes: number;
  sentPackets: number;
  receivedBytes: number;
  receivedPackets: number;
  /** Sent to broadcast and multicast groups: accounted to the sender, never as edges. */
  broadcastBytes: number;
  broadcastPackets: number;
  multicastBytes: number;
  multicastPackets: number;
}

export interface TrafficEdge {
  source: number;
  target: number;
  bytes: number;
  packets: number;
  flows: number;
  /** window index → [bytes, packets], present when windows are on. */
  series: Map<number, [number, number]> | undefined;
}

/** Per-capture context: which hypervisor the capture was taken on, if known. */
export interface CaptureContext {
  name: string;
  host: string | undefined;
}

/**
 * The directed VM communication graph being accumulated from every capture's flow windows. Each packet
 * direction is counted once even when several hypervisors captured it: it belongs to the capture of the
 * sender's host, or of the receiver's host when the sender's host was not captured.
 */
export class TrafficGraph {
  readonly nodes: TrafficNode[] = [];
  readonly edges = new Map<number, TrafficEdge>();
  private readonly index = new Map<string, number>();
  duplicatePackets = 0;
  duplicateBytes = 0;

  constructor(
    private readonly attribution: Attribution,
    private readonly capturedHosts: ReadonlySet<string>,
    private readonly windowed: boolean,
    private readonly onFlow: ((record: FlowRecord) => void) | undefined,
    /**
     * The hypervisor a VM last announced itself behind (a migration's RARP) up to a time, if any: a
     * moved VM sends from its new host, whatever the inventory says.
     */
    private readonly announcedHost: (vm: string, until: number, home?: string) => string | undefined = () =>
      undefined,
    private readonly windowSeconds = Number.POSITIVE_INFINITY,
  ) {}

  consumerFor(capture: CaptureContext): FlowConsumer {
    const consumer: FlowConsumer = { window: (table, window) => this.addWindow(table, window, capture) };
    if (this.onFlow !== undefined) consumer.flows = (table) => this.emitFlows(table, capture);
    return consumer;
  }

  nodeIndex(endpoint: Endpoint): number {
    let i = this.index.get(endpoint.id);
    if (i !== undefined) return i;
    i = this.nodes.length;
    this.index.set(endpoint.id, i);
    const vm = endpoint.vm;
    const node: TrafficNode = {
      id: endpoint.id,
      kind: endpoint.kind,
      sentBytes: 0,
      sentPackets: 0,
      receivedBytes: 0,
      receivedPackets: 0,
      broadcastBytes: 0,
      broadcastPackets: 0,
      multicastBytes: 0,
      multicastPackets: 0,
    };
    if (vm?.cloud !== undefined) node.cloud = vm.cloud;
    if (vm?.host !== undefined) node.host = vm.host;
    if (vm?.vcpus !== undefined) node.vcpus = vm.vcpus;
    if (vm?.memoryGiB !== undefined) node.memoryGiB = vm.memoryGiB;
    this.nodes.push(node);
    return i;
  }

  private addWindow(table: FlowTable, window: number, capture: CaptureContext): void {
    for (let t = 0; t < table.touchedCount; t++) {
      const slot = table.touched[t] as number;
      const a = this.attribution.resolve(flowSide(table, slot, 0));
      const b = this.attribution.resolve(flowSide(table, slot, 1));
      for (let dir = 0; dir < 2; dir++) {
        const packets = table.windowPackets(slot, dir);
        if (packets === 0) continue;
        const newFlow = !table.reported(slot, dir);
        if (
          this.addDirected(
            dir === 0 ? a : b,
            dir === 0 ? b : a,
            table.group(slot, dir),
            table.windowBytes(slot, dir),
            packets,
            newFlow,
            window,
            capture,
          ) &&
          newFlow
        ) {
          table.markReported(slot, dir);
        }
      }
    }
  }

  /**
   * Counts one direction of a flow in one window: `bytes` and `packets` sent by `sender` to `receiver`
   * (or to a group). False when another hypervisor's capture owns these packets (counted there).
   */
  addDirected(
    senderEndpoint: Endpoint,
    receiverEndpoint: Endpoint,
    group: number,
    bytes: number,
    packets: number,
    newFlow: boolean,
    window: number,
    capture: CaptureContext,
  ): boolean {
    const sender = this.nodeIndex(senderEndpoint);
    const s = this.nodes[sender] as TrafficNode;
    const until = Number.isFinite(this.windowSeconds)
      ? (window + 1) * this.windowSeconds
      : Number.POSITIVE_INFINITY;
    if (group !== GROUP.none) {
      // Every hypervisor on the segment sees a broadcast: it belongs to the sender's, when captured.
      if (!this.countsHere(s, undefined, capture, until)) {
        this.duplicatePackets += packets;
        this.duplicateBytes += bytes;
        return false;
      }
      if (group === GROUP.broadcast) {
        s.broadcastBytes += bytes;
        s.broadcastPackets += packets;
      } else {
        s.multicastBytes += bytes;
        s.multicastPackets += packets;
      }
      return true;
    }
    // A group address is never a node: its receiver is created only for unicast traffic.
    const receiver = this.nodeIndex(receiverEndpoint);
    if (!this.countsHere(s, this.nodes[receiver] as TrafficNode, capture, until)) {
      this.duplicatePackets += packets;
      this.duplicateBytes += bytes;
      return false;
    }
    s.sentBytes += bytes;
    s.sentPackets += packets;
    const r = this.nodes[receiver] as TrafficNode;
    r.receivedBytes += bytes;
    r.receivedPackets += packets;
    const edge = this.edge(sender, receiver);
    edge.bytes += bytes;
    edge.packets += packets;
    if (newFlow) edge.flows++;
    if (edge.series !== undefined) {
      const cell = edge.series.get(window);
      if (cell === undefined) edge.series.set(window, [bytes, packets]);
      else {
        cell[0] += bytes;
        cell[1] += packets;
      }
    }
    return true;
  }

  private countsHere(
    sender: TrafficNode,
    receiver: TrafficNode | undefined,
    capture: CaptureContext,
    until: number,
  ): boolean {
    if (capture.host === undefined) return true;
    const senderHost = this.announcedHost(sender.id, until, sender.host) ?? sender.host;
    const receiverHost =
      receiver === undefined
        ? undefined
        : (this.announcedHost(receiver.id, until, receiver.host) ?? receiver.host);
    return countedHere(capture.host, senderHost, receiverHost, this.capturedHosts);
  }

  private edge(source: number, target: number): TrafficEdge {
    const key = source * 67108864 + target;
    let edge = this.edges.get(key);
    if (edge === undefined) {
      edge = {
        source,
        target,
        bytes: 0,
        packets: 0,
        flows: 0,
        series: this.windowed ? new Map() : undefined,
      };
      this.edges.set(key, edge);
    }
    return edge;
  }

  private emitFlows(table: FlowTable, capture: CaptureContext): void {
    const onFlow = this.onFlow as (record: FlowRecord) => void;
    for (let slot = 0; slot < table.capacity; slot++) {
      if (!table.isUsed(slot)) continue;
      const a = this.attribution.resolve(flowSide(table, slot, 0)).id;
      const b = this.attribution.resolve(flowSide(table, slot, 1)).id;
      onFlow(flowRecord(table, slot, capture.name, a, b));
    }
  }
}
