import { emptyStats } from '../../capture/decode-stats.js';
import {
  FLOW_FLAG,
  WINDOW_SCHEMA,
  type WindowDocument,
  type WindowEndpoint,
  type WindowFlow,
} from '../../capture/window-document.js';
import { seededRng } from '../../planner/rng.js';

export interface ClusterShape {
  hosts: number;
  vmsPerHost: number;
  /** Flow rows per host per window (unicast; a host's share of the cluster's conversations). */
  flowsPerWindow: number;
  windows: number;
  seed: number;
  /** Window length (s); windows end before now, so the aggregator takes them as recent. */
  windowSeconds?: number;
}

const mac = (i: number) =>
  `02:00:${[(i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * Windows of a cluster's hypervisors as their collectors send them: each host sees its own VMs' flows,
 * to VMs of any host or outside; a flow between two captured hosts is in both hosts' windows (the
 * aggregator must count it once). Hosts are spread over three clouds.
 */
export function clusterWindows(shape: ClusterShape): { windows: WindowDocument[]; inventory: object } {
  const seconds = shape.windowSeconds ?? 60;
  const vms = shape.hosts * shape.vmsPerHost;
  const hostOf = (vm: number) => Math.floor(vm / shape.vmsPerHost);
  const firstIndex = Math.floor(Date.now() / 1000 / seconds) - shape.windows - 1;
  const random = seededRng(shape.seed);
  const per: WindowDocument[][] = Array.from({ length: shape.hosts }, () => []);
  for (let w = 0; w < shape.windows; w++) {
    const rows: { endpoints: WindowEndpoint[]; index: Map<number, number>; flows: WindowFlow[] }[] =
      Array.from({ length: shape.hosts }, () => ({ endpoints: [], index: new Map(), flows: [] }));
    const endpoint = (h: number, vm: number) => {
      const r = rows[h] as (typeof rows)[number];
      let i = r.index.get(vm);
      if (i === undefined) {
        i = r.endpoints.length;
        r.endpoints.push([
          4,
          ip(vm < 0 ? 0xffffff : vm + 1),
          vm < 0 ? '02:ff:ff:ff:ff:ff' : mac(vm + 1),
          null,
          7,
        ]);
        r.index.set(vm, i);
      }
      return i;
    };
    for (let h = 0; h < shape.hosts; h++) {
      for (let f = 0; f < shape.flowsPerWindow; f++) {
        const src = h * shape.vmsPerHost + Math.floor(random() * shape.vmsPerHost);
        // Mostly within the host's neighbourhood (locality), some anywhere, a few to the internet.
        const r = random();
        const dst =
          r < 0.02
            ? -1
            : r < 0.7
              ? (src + 1 + Math.floor(random() * (shape.vmsPerHost * 2 - 1))) % vms
              : Math.floor(random() * vms);
        const bytes = 64 + Math.floor(random() * 1e6);
        const packets = 1 + Math.floor(bytes / 1400);
        const flags = w === 0 || random() < 0.1 ? FLOW_FLAG.newFlow : 0;
        const seenBy = dst < 0 || hostOf(dst) === h ? [h] : [h, hostOf(dst)];
        for (const s of seenBy)
          rows[s]?.flows.push([endpoint(s, src), endpoint(s, dst), bytes, packets, flags]);
      }
    }
    for (let h = 0; h < shape.hosts; h++) {
      const r = rows[h] as (typeof rows)[number];
      per[h]?.push({
        schema: WINDOW_SCHEMA,
        id: `c${h}/1/${w}`,
        collector: `c${h}`,
        host: `hv${h}`,
        instance: '1',
        seq: w,
        window: { seconds, index: firstIndex + w },
        byteCount: 'wire',
        interfaces: [],
        decode: emptyStats(),
        vms: [],
        arp: [],
        announcements: [],
        endpoints: r.endpoints,
        flows: r.flows,
      });
    }
  }
  const inventory = {
    clouds: [{ name: 'aws' }, { name: 'gcp' }, { name: 'azure' }],
    hosts: Array.from({ length: shape.hosts }, (_, h) => ({
      name: `hv${h}`,
      cloud: ['aws', 'gcp', 'azure'][h % 3] as string,
    })),
    vms: Array.from({ length: vms }, (_, v) => ({
      name: `vm${v}`,
      host: `hv${hostOf(v)}`,
      nics: [{ mac: mac(v + 1), ips: [ip(v + 1)] }],
    })),
  };
  // Collectors send concurrently: interleave the hosts' windows in time order.
  const windows: WindowDocument[] = [];
  for (let w = 0; w < shape.windows; w++) for (const list of per) windows.push(list[w] as WindowDocument);
  return { windows, inventory };
}
