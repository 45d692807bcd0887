import { type CostBreakdown, evaluate } from '../../planner/objective.js';
import type { PlanProblem } from '../../planner/problem.js';
import type { PlanResult } from '../../planner/solve.js';
import { VERSION } from '../version.js';
import type { HostPlacement } from './place-on-hosts.js';

export const PLAN_SCHEMA = 'sky-plan/plan@1';

export interface CloudPairRate {
  from: string;
  to: string;
  bytesPerSecond: number;
}

export interface PlanMetrics {
  cost: CostBreakdown;
  crossCloud: CloudPairRate[];
  crossCloudBytesPerSecond: number;
  moves: number;
  migrationBytes: number;
  migrationSeconds: number;
  load: { cloud: string; vcpus: number; memoryGiB: number; vms: number }[];
}

export interface PeerRate {
  peer: string;
  bytesPerSecond: number;
}

export interface PlanMove {
  vm: string;
  from: string;
  to: string;
  /** Its host now, and the destination host chosen for it (null where the spec lists no hosts). */
  fromHost: string | null;
  toHost: string | null;
  /** What the VM occupies while it runs, at both ends during its migration. */
  vcpus: number;
  memoryGiB: number;
  /** Its image (content group), whose shared content crosses to a cloud once; null without one. */
  image: string | null;
  /** This VM's own bytes on the WAN (memory and disk it does not share with its image). */
  wanBytes: number;
  /** wanBytes split: memory, and disk blocks (an overlay's own clusters when its base is shared). */
  memoryBytes: number;
  diskBytes: number;
  /** Its migration time at the link's full bandwidth. */
  seconds: number;
  cost: number;
  /** Peers it ends up with in one cloud, and peers it leaves, with the traffic between them. */
  bringsTogether: PeerRate[];
  separates: PeerRate[];
}

export interface PlanCloudInfo {
  name: string;
  capacity: { vcpus: number | null; memoryGiB: number | null; vms: number | null };
  /** Bytes/s a migration from this cloud to each other cloud gets. */
  wanBytesPerSecond: Record<string, number>;
}

export interface PlanDocument {
  schema: typeof PLAN_SCHEMA;
  generator: { name: 'sky-plan'; version: string };
  horizonSeconds: number;
  downtimePenalty: number;
  solver: {
    name: string;
    reason: string;
    optimal: boolean;
    gap: number | null;
    bound: number | null;
    seconds: number;
    seed: number;
    notes: string[];
  };
  placement: Record<string, string>;
  /** Capacities (null: no limit) and migration bandwidth, for the executor's schedule. */
  clouds: PlanCloudInfo[];
  moves: PlanMove[];
  /** Image content sent once per destination cloud (dedup-aware migration). */
  sharedContent: { image: string; to: string; bytes: number; diskBytes: number }[];
  before: PlanMetrics;
  after: PlanMetrics;
  notes: string[];
}

const TOP_PEERS = 5;

export function planDocument(
  p: PlanProblem,
  result: PlanResult,
  seed: number,
  notes: string[],
  hosts: HostPlacement,
): PlanDocument {
  const before = p.vms.map((vm) => vm.current);
  const after = result.placement;
  const cloud = (c: number) => (c >= 0 ? (p.clouds[c]?.name ?? '?') : 'new');
  const k = p.clouds.length;
  const moves: PlanMove[] = [];
  const peers = peerRates(p, (v) => (before[v] as number) >= 0 && before[v] !== after[v]);
  p.vms.forEach((vm, v) => {
    const a = before[v] as number;
    const b = after[v] as number;
    if (a < 0 || a === b) return;
    const bringsTogether: PeerRate[] = [];
    const separates: PeerRate[] = [];
    for (const [w, rate] of peers.get(v) ?? []) {
      const wasTogether = before[w] === a;
      const isTogether = after[w] === b;
      const peer = { peer: p.vms[w]?.name ?? '?', bytesPerSecond: rate };
      if (isTogether && !wasTogether) bringsTogether.push(peer);
      if (wasTogether && !isTogether) separates.push(peer);
    }
    const byRate = (x: PeerRate, y: PeerRate) => y.bytesPerSecond - x.bytesPerSecond;
    moves.push({
      vm: vm.name,
      from: cloud(a),
      to: cloud(b),
      fromHost: hosts.from[v] ?? null,
      toHost: hosts.to[v] ?? null,
      vcpus: vm.vcpus,
      memoryGiB: vm.memoryGiB,
      image: p.images[vm.image]?.name ?? null,
      wanBytes: vm.uniqueBytes,
      memoryBytes: vm.uniqueBytes - vm.diskBytes,
      diskBytes: vm.diskBytes,
      seconds: vm.uniqueBytes / (p.wan[a * k + b] as number),
      cost: (vm.uniqueBytes / 1e9) * (p.egress[a * k + b] as number) + p.downtimePenalty,
      bringsTogether: bringsTogether.sort(byRate).slice(0, TOP_PEERS),
      separates: separates.sort(byRate).slice(0, TOP_PEERS),
    });
  });
  const sharedContent: PlanDocument['sharedContent'] = [];
  p.images.forEach((img, i) => {
    for (let c = 0; c < k; c++) {
      if (img.presentAt[c] || img.sharedBytes === 0) continue;
      if (p.vms.some((vm, v) => vm.image === i && vm.current >= 0 && vm.current !== c && after[v] === c)) {
        sharedContent.push({
          image: img.name,
          to: cloud(c),
          bytes: img.sharedBytes,
          diskBytes: img.diskBytes,
        });
      }
    }
  });
  return {
    schema: PLAN_SCHEMA,
    generator: { name: 'sky-plan', version: VERSION },
    horizonSeconds: p.horizonSeconds,
    downtimePenalty: p.downtimePenalty,
    solver: {
      name: result.solver,
      reason: result.reason,
      optimal: result.optimal,
      gap: result.gap ?? null,
      bound: result.bound === undefined || Number.isNaN(result.bound) ? null : result.bound,
      seconds: result.seconds,
      seed,
      notes: result.notes,
    },
    placement: Object.fromEntries(p.vms.map((vm, v) => [vm.name, cloud(after[v] as number)])),
    clouds: p.clouds.map((c, a) => ({
      name: c.name,
      capacity: {
        vcpus: finite(c.capacity.vcpus),
        memoryGiB: finite(c.capacity.memoryGiB),
        vms: finite(c.capacity.vms),
      },
      wanBytesPerSecond: Object.fromEntries(
        p.clouds.flatMap((d, b) => (a === b ? [] : [[d.name, p.wan[a * k + b] as number]])),
      ),
    })),
    moves,
    sharedContent,
    // New VMs have no "before": they are priced where the plan puts them.
    before: metrics(
      p,
      before.map((c, v) => (c >= 0 ? c : (after[v] as number))),
    ),
    after: metrics(p, after),
    notes,
  };
}

function metrics(p: PlanProblem, placement: ArrayLike<number>): PlanMetrics {
  const k = p.clouds.length;
  const e = evaluate(p, placement);
  const pair = new Float64Array(k * k);
  for (let i = 0; i < p.edges.rate.length; i++) {
    const a = placement[p.edges.from[i] as number] as number;
    const b = placement[p.edges.to[i] as number] as number;
    if (a !== b) pair[a * k + b] = (pair[a * k + b] as number) + (p.edges.rate[i] as number);
  }
  const crossCloud: CloudPairRate[] = [];
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const r = pair[a * k + b] as number;
      if (r > 0)
        crossCloud.push({ from: p.clouds[a]?.name ?? '?', to: p.clouds[b]?.name ?? '?', bytesPerSecond: r });
    }
  }
  crossCloud.sort((x, y) => y.bytesPerSecond - x.bytesPerSecond);
  const load = p.clouds.map((c, i) => {
    let vcpus = 0;
    let memoryGiB = 0;
    let vms = 0;
    p.vms.forEach((vm, v) => {
      if (placement[v] !== i) return;
      vcpus += vm.vcpus;
      memoryGiB += vm.memoryGiB;
      vms++;
    });
    return { cloud: c.name, vcpus, memoryGiB, vms };
  });
  return {
    cost: e.cost,
    crossCloud,
    crossCloudBytesPerSecond: crossCloud.reduce((s, x) => s + x.bytesPerSecond, 0),
    moves: e.moves,
    migrationBytes: e.migrationBytes,
    migrationSeconds: e.migrationSeconds,
    load,
  };
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** Traffic of each moved VM with each peer, both directions together. */
function peerRates(p: PlanProblem, moved: (v: number) => boolean): Map<number, Map<number, number>> {
  const out = new Map<number, Map<number, number>>();
  const add = (v: number, w: number, rate: number) => {
    if (!moved(v)) return;
    const peers = out.get(v) ?? new Map<number, number>();
    out.set(v, peers);
    peers.set(w, (peers.get(w) ?? 0) + rate);
  };
  for (let i = 0; i < p.edges.rate.length; i++) {
    const u = p.edges.from[i] as number;
    const w = p.edges.to[i] as number;
    add(u, w, p.edges.rate[i] as number);
    add(w, u, p.edges.rate[i] as number);
  }
  return out;
}
