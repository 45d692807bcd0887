import type { NodeKind } from '../../capture/attribution.js';
import type { MobilityEvent } from '../../capture/mobility.js';
import type { TunnelUsage } from '../../capture/tunnel-overhead.js';
import type { CaptureReport } from '../analyze.js';
import type { PatternReport } from './patterns.js';

/**
 * The `sky-plan/graph@1` document (README "Graph JSON"). Only `schema`, `nodes[].id` and
 * `edges[].{source,target,bytes,packets}` are required of graphs written by hand or by other tools.
 */
export const GRAPH_SCHEMA = 'sky-plan/graph@1';

export interface GraphNode {
  id: string;
  kind?: NodeKind;
  cloud?: string;
  host?: string;
  vcpus?: number;
  memoryGiB?: number;
  sentBytes?: number;
  sentPackets?: number;
  receivedBytes?: number;
  receivedPackets?: number;
  broadcastBytes?: number;
  broadcastPackets?: number;
  multicastBytes?: number;
  multicastPackets?: number;
  /** Seen moving to another cloud during the capture (mobility): traffic from `time` on counts in `to`. */
  moved?: { time: number; from: string; to: string };
}

export interface EdgeWindows {
  /** [window start (s since epoch), bytes, packets] for every window with traffic. */
  series: [number, number, number][];
  peakBytesPerSecond: number;
  /** Over every window of the capture's span, idle ones included. */
  p95BytesPerSecond: number;
}

export interface GraphEdge {
  /** The sender. */
  source: string;
  target: string;
  bytes: number;
  packets: number;
  flows?: number;
  /** Mean over the capture's time range. */
  bytesPerSecond?: number;
  windows?: EdgeWindows;
}

export interface CloudPairTraffic {
  from: string;
  to: string;
  bytes: number;
  packets: number;
  /** $ for the captured traffic, when the inventory prices egress from `from`. */
  egressCost?: number;
  /** $ per 30-day month at the captured mean rate. */
  egressCostPerMonth?: number;
}

export interface GraphSummary {
  nodes: number;
  edges: number;
  edgeBytes: number;
  edgePackets: number;
  broadcastBytes: number;
  multicastBytes: number;
  /** Traffic between two different clouds (the internet is not a cloud: see internetBytes). */
  crossCloudBytes: number;
  /** Traffic between a cloud and the internet, either way. */
  internetBytes: number;
  /** Traffic of nodes no inventory places (left out of cloudPairs and of the two totals above). */
  unlocatedBytes: number;
  cloudPairs: CloudPairTraffic[];
  egressCost?: number;
  egressCostPerMonth?: number;
  topEdges: { source: string; target: string; bytes: number }[];
  topNodes: { id: string; bytes: number }[];
}

export interface GraphDocument {
  schema: typeof GRAPH_SCHEMA;
  generator: { name: 'sky-plan'; version: string };
  timeRange: { first: number; last: number; seconds: number } | null;
  window: { seconds: number; first: number; count: number } | null;
  /** What every byte figure counts: `wire` (frames as on the wire) or `payload` (transport payload). */
  byteCount: 'wire' | 'payload';
  nodes: GraphNode[];
  edges: GraphEdge[];
  summary: GraphSummary;
  /** Louvain communities and the communication pattern each one follows. */
  patterns: PatternReport;
  tunnels: TunnelUsage[];
  /** Live migrations seen in the captures: announcements (RARP, gratuitous ARP) and host changes. */
  mobility: MobilityEvent[];
  captures: CaptureReport[];
  /** Packet directions seen on more than one hypervisor and counted once. */
  dedup: { packets: number; bytes: number };
  flowTable: { foldedPackets: number; earlyDrains: number };
  warnings: string[];
}
