import type { PlanCloud, PlanProblem, PlanVm } from '../../planner/problem.js';
import { UserError } from '../errors.js';
import { egressPrice, INTERNET } from '../graph/summarize.js';
import { NAME_PATTERN, NAME_RULE } from '../inventory/names.js';
import type { Inventory } from '../inventory/schema.js';
import { type ContentSketch, measuredSimilarity } from './content-sketch.js';
import type { PlannerGraph } from './read-graph.js';

export interface PlanOptions {
  /** How long the traffic pattern is expected to hold, in seconds. */
  horizonSeconds: number;
  /** $ per moved VM, for its downtime. */
  downtimePenalty: number;
  /** Measured content sketches by VM name: an image's similarity is measured from its VMs' sketches. */
  sketches?: Map<string, ContentSketch>;
}

export const PLAN_DEFAULTS: PlanOptions = { horizonSeconds: 30 * 86400, downtimePenalty: 0 };

const GIB = 2 ** 30;
const DEFAULT_WAN_MBPS = 1000;

export interface BuiltProblem {
  problem: PlanProblem;
  /** Things the operator should know about how the input was read (unpriced traffic, defaults). */
  notes: string[];
}

/**
 * The planning problem from a graph@1 document and a clouds spec / inventory (one merged Inventory).
 * VMs are the graph's `vm` nodes (every node of a graph without kinds) plus inventory VMs with no
 * traffic; the inventory's values win over the graph's. Traffic rates are the graph's mean rates.
 */
export function buildProblem(graph: PlannerGraph, spec: Inventory, options: PlanOptions): BuiltProblem {
  const notes: string[] = [];
  if (spec.clouds.length < 1)
    throw new UserError('no_clouds', 'the clouds spec names no cloud: add a clouds: list');
  const cloudIndex = new Map(spec.clouds.map((c, i) => [c.name, i]));
  const k = spec.clouds.length;
  const cloudOf = (name: string | undefined, where: string): number => {
    if (name === undefined) return -1;
    const i = cloudIndex.get(name);
    if (i === undefined)
      throw new UserError(
        'unknown_cloud',
        `${where}: unknown cloud "${name}" (clouds: ${[...cloudIndex.keys()].join(', ')})`,
      );
    return i;
  };

  const clouds: PlanCloud[] = spec.clouds.map((c) => ({
    name: c.name,
    capacity: {
      vcpus: c.capacity?.vcpus ?? Number.POSITIVE_INFINITY,
      memoryGiB: c.capacity?.memoryGiB ?? Number.POSITIVE_INFINITY,
      vms: c.capacity?.vms ?? Number.POSITIVE_INFINITY,
    },
    compute: {
      vcpuHour: c.compute?.vcpuHour ?? 0,
      gibHour: c.compute?.gibHour ?? 0,
      vmHour: c.compute?.vmHour ?? 0,
    },
    internetPerGB: egressPrice(spec.clouds, c.name, INTERNET) ?? 0,
  }));
  const egress = new Float64Array(k * k);
  const wan = new Float64Array(k * k);
  spec.clouds.forEach((c, a) => {
    spec.clouds.forEach((d, b) => {
      // The same rule as the analyze summary's egress cost.
      egress[a * k + b] = egressPrice(spec.clouds, c.name, d.name) ?? 0;
      wan[a * k + b] = ((c.wan?.toMbps?.[d.name] ?? c.wan?.defaultMbps ?? DEFAULT_WAN_MBPS) * 1e6) / 8;
    });
  });

  // VMs: graph VM nodes, then inventory VMs the graph does not mention.
  const inventoryVm = new Map(spec.vms.map((vm) => [vm.name, vm]));
  const hostCloud = new Map(spec.hosts.map((h) => [h.name, h.cloud]));
  const graphKinds = graph.nodes.some((n) => n.kind !== undefined);
  const vmNames: string[] = [];
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  for (const n of graph.nodes)
    if (n.kind === 'vm' || (!graphKinds && n.id !== 'external')) vmNames.push(n.id);
  for (const vm of spec.vms) if (!nodeById.has(vm.name)) vmNames.push(vm.name);
  // A plan names its VMs to the executor's commands: refuse now what `execute` would refuse later.
  const badName = vmNames.find((name) => !NAME_PATTERN.test(name));
  if (badName !== undefined)
    throw new UserError(
      'graph_bad_vm_name',
      `the graph's VM ${JSON.stringify(badName)} has no valid name (${NAME_RULE}): rename it in the graph, or give nodes that are not VMs another kind (host, unknown, external)`,
    );
  const vmIndex = new Map(vmNames.map((name, i) => [name, i]));

  const imageIndex = new Map(spec.images.map((img, i) => [img.name, i]));
  const vms: PlanVm[] = vmNames.map((name) => {
    const inv = inventoryVm.get(name);
    const node = nodeById.get(name);
    const cloudName =
      inv?.cloud ?? (inv?.host === undefined ? undefined : hostCloud.get(inv.host)) ?? node?.cloud;
    const current = cloudOf(cloudName, `VM ${name}`);
    const allowed = new Array<boolean>(k).fill(true);
    if (inv?.allowedClouds !== undefined) {
      allowed.fill(false);
      for (const c of inv.allowedClouds) allowed[cloudOf(c, `VM ${name} allowedClouds`)] = true;
    }
    for (const c of inv?.deniedClouds ?? []) allowed[cloudOf(c, `VM ${name} deniedClouds`)] = false;
    if (inv?.pinned) {
      if (current < 0)
        throw new UserError('pin_without_cloud', `VM ${name} is pinned but has no current cloud to stay in`);
      for (let c = 0; c < k; c++) if (c !== current) allowed[c] = false;
    }
    let image = -1;
    if (inv?.image !== undefined) {
      image = imageIndex.get(inv.image) ?? -1;
      if (image < 0)
        notes.push(`VM ${name}: image ${inv.image} is not in images:, so its migration is not deduplicated`);
    }
    // A disk's own blocks cross with the VM; the blocks of its backing file are the image's, shared.
    const disk =
      (inv?.diskGiB ?? 0) * GIB + (inv?.disks ?? []).reduce((s, d) => s + (d.allocatedBytes ?? 0), 0);
    if (image < 0 && inv?.disks.some((d) => (d.backing?.length ?? 0) > 0))
      notes.push(
        `VM ${name}: its disk has a backing file but the VM has no image in images:, so the backing file's blocks are not counted in its migration`,
      );
    return {
      name,
      vcpus: inv?.vcpus ?? node?.vcpus ?? 0,
      memoryGiB: inv?.memoryGiB ?? node?.memoryGiB ?? 0,
      current,
      allowed,
      uniqueBytes: (inv?.memoryGiB ?? node?.memoryGiB ?? 0) * GIB + disk,
      diskBytes: disk,
      image,
      internetRate: 0,
      fixedOut: new Array<number>(k).fill(0),
      fixedIn: new Array<number>(k).fill(0),
    };
  });

  // Shared image content: the similar share of the smallest member's memory crosses once per destination.
  const images = spec.images.map((img, i) => {
    const members = vms.filter((vm) => vm.image === i);
    const similarity = imageSimilarity(img, members, options.sketches, notes);
    const shared =
      members.length === 0
        ? 0
        : similarity *
          members.reduce((low, vm) => Math.min(low, vm.memoryGiB), Number.POSITIVE_INFINITY) *
          GIB;
    for (const vm of members) vm.uniqueBytes = Math.max(vm.diskBytes, vm.uniqueBytes - shared);
    // Where a VM of the image runs, its memory content and its base image are both there already.
    const presentAt = new Array<boolean>(k).fill(false);
    for (const vm of members) if (vm.current >= 0) presentAt[vm.current] = true;
    for (const c of Object.keys(img.at ?? {})) presentAt[cloudOf(c, `image ${img.name} at`)] = true;
    const base = img.allocatedBytes ?? 0;
    return { name: img.name, sharedBytes: shared + base, diskBytes: base, presentAt };
  });

  // Traffic: VM↔VM edges; VM↔internet and VM↔fixed endpoints fold into per-VM terms.
  const seconds =
    graph.timeRange?.seconds !== undefined && graph.timeRange.seconds > 0 ? graph.timeRange.seconds : 1;
  if (graph.timeRange == null)
    notes.push('the graph has no timeRange: edge bytes are taken as bytes per second');
  const from: number[] = [];
  const to: number[] = [];
  const rate: number[] = [];
  let unpriced = 0;
  for (const e of graph.edges) {
    const r = e.bytesPerSecond ?? e.bytes / seconds;
    if (r <= 0 || e.source === e.target) continue;
    const u = vmIndex.get(e.source);
    const w = vmIndex.get(e.target);
    if (u !== undefined && w !== undefined) {
      from.push(u);
      to.push(w);
      rate.push(r);
      continue;
    }
    const vmSide = u ?? w;
    if (vmSide === undefined) continue;
    const other = nodeById.get(u === undefined ? e.source : e.target);
    const vm = vms[vmSide] as PlanVm;
    if (other?.kind === 'external') {
      if (u !== undefined) vm.internetRate += r; // inbound internet traffic is not billed as egress
    } else if (other?.cloud !== undefined && cloudIndex.has(other.cloud)) {
      const c = cloudIndex.get(other.cloud) as number;
      if (u !== undefined) vm.fixedOut[c] = (vm.fixedOut[c] ?? 0) + r;
      else vm.fixedIn[c] = (vm.fixedIn[c] ?? 0) + r;
    } else unpriced += r;
  }
  if (unpriced > 0)
    notes.push(`${unpriced.toFixed(0)} B/s between VMs and endpoints of unknown location are not priced`);

  const resolve = (group: string[], what: string): number[] =>
    group.map((name) => {
      const i = vmIndex.get(name);
      if (i === undefined)
        throw new UserError(
          'unknown_vm',
          `${what} names VM "${name}", which neither the graph nor the inventory has`,
        );
      return i;
    });
  const constraints = spec.constraints;
  const problem: PlanProblem = {
    clouds,
    vms,
    images,
    egress,
    wan,
    edges: { from: Int32Array.from(from), to: Int32Array.from(to), rate: Float64Array.from(rate) },
    horizonSeconds: options.horizonSeconds,
    downtimePenalty: options.downtimePenalty,
    affinity: (constraints?.affinity ?? []).map((g, i) => resolve(g, `constraints.affinity[${i}]`)),
    antiAffinity: (constraints?.antiAffinity ?? []).map((g, i) =>
      resolve(g, `constraints.antiAffinity[${i}]`),
    ),
  };
  if (constraints?.maxMoves !== undefined) problem.maxMoves = constraints.maxMoves;
  if (constraints?.budget !== undefined) {
    problem.budget = {};
    if (constraints.budget.bytes !== undefined) problem.budget.bytes = constraints.budget.bytes;
    if (constraints.budget.dollars !== undefined) problem.budget.dollars = constraints.budget.dollars;
    if (constraints.budget.seconds !== undefined) problem.budget.seconds = constraints.budget.seconds;
  }
  return { problem, notes };
}

/** Measured from the members' sketches when at least two have one, else as configured, else none. */
function imageSimilarity(
  img: Inventory['images'][number],
  members: { name: string }[],
  sketches: Map<string, ContentSketch> | undefined,
  notes: string[],
): number {
  const sketched = members.flatMap((vm) => {
    const sketch = sketches?.get(vm.name);
    return sketch === undefined ? [] : [sketch];
  });
  if (sketched.length >= 2) {
    const measured = measuredSimilarity(sketched);
    notes.push(
      `image ${img.name}: similarity ${measured.toFixed(2)} measured from ${sketched.length} sketches${img.similarity === undefined ? '' : ` (configured ${img.similarity})`}`,
    );
    return measured;
  }
  if (img.similarity === undefined) {
    if (members.length > 0)
      notes.push(
        `image ${img.name}: no similarity and fewer than two sketches, so its VMs are not deduplicated`,
      );
    return 0;
  }
  return img.similarity;
}
