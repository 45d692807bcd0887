import type { PlanProblem } from '../../planner/problem.js';
import { seededRng } from '../../planner/rng.js';

/**
 * Random placement problems with the features real ones have: capacities that bind, compute and egress
 * prices that differ by cloud and direction, traffic concentrated in communities, a current placement,
 * pins, residency, affinity, anti-affinity and shared images. Deterministic for a seed.
 */
export function randomProblem(
  seed: number,
  vms: number,
  clouds: number,
  opts: { constraints?: boolean; images?: boolean } = {},
): PlanProblem {
  const rng = seededRng(seed);
  const k = clouds;
  const egress = new Float64Array(k * k);
  const wan = new Float64Array(k * k).fill(125e6);
  for (let a = 0; a < k; a++) {
    const base = 0.01 + rng() * 0.08;
    for (let b = 0; b < k; b++) if (a !== b) egress[a * k + b] = rng() < 0.3 ? base * (0.5 + rng()) : base;
  }
  const communities = Math.max(2, Math.round(vms / 6));
  const community = Array.from({ length: vms }, () => Math.floor(rng() * communities));
  const list = Array.from({ length: vms }, (_, v) => {
    const vcpus = [2, 4, 8][Math.floor(rng() * 3)] as number;
    return {
      name: `vm${v}`,
      vcpus,
      memoryGiB: vcpus * 2,
      current: Math.floor(rng() * k),
      allowed: new Array<boolean>(k).fill(true),
      uniqueBytes: vcpus * 2 * 2 ** 30,
      diskBytes: 0,
      image: opts.images && rng() < 0.6 ? Math.floor(rng() * 2) : -1,
      internetRate: rng() < 0.2 ? rng() * 2e5 : 0,
      fixedOut: new Array<number>(k).fill(0),
      fixedIn: new Array<number>(k).fill(0),
    };
  });
  const totalVcpus = list.reduce((s, v) => s + v.vcpus, 0);
  const from: number[] = [];
  const to: number[] = [];
  const rate: number[] = [];
  for (let u = 0; u < vms; u++) {
    for (let w = 0; w < vms; w++) {
      if (u === w) continue;
      const same = community[u] === community[w];
      if (rng() < (same ? 0.6 : 0.04)) {
        from.push(u);
        to.push(w);
        rate.push((same ? 2e5 : 2e4) * rng());
      }
    }
  }
  const p: PlanProblem = {
    clouds: Array.from({ length: k }, (_, c) => ({
      name: `cloud${c}`,
      capacity: {
        vcpus: Math.ceil((totalVcpus / k) * 1.3) + 8,
        memoryGiB: Number.POSITIVE_INFINITY,
        vms: Number.POSITIVE_INFINITY,
      },
      compute: { vcpuHour: 0.02 + rng() * 0.01, gibHour: 0.003, vmHour: 0 },
      internetPerGB: 0.05 + rng() * 0.07,
    })),
    vms: list,
    images: [0, 1].map((i) => ({
      name: `image${i}`,
      sharedBytes: 2 * 2 ** 30,
      diskBytes: 0,
      presentAt: Array.from({ length: k }, (_, c) => list.some((vm) => vm.image === i && vm.current === c)),
    })),
    egress,
    wan,
    edges: { from: Int32Array.from(from), to: Int32Array.from(to), rate: Float64Array.from(rate) },
    horizonSeconds: 30 * 86400,
    downtimePenalty: 0.5,
    affinity: [],
    antiAffinity: [],
  };
  if (opts.constraints) {
    (list[0] as (typeof list)[number]).allowed = list[0]?.allowed.map((_, c) => c === list[0]?.current) ?? [];
    const residency = list[1] as (typeof list)[number];
    residency.allowed = residency.allowed.map((_, c) => c !== (residency.current + 1) % k);
    p.affinity.push([2, 3]);
    (list[3] as (typeof list)[number]).current = list[2]?.current ?? 0;
    p.antiAffinity.push([4, 5]);
    if ((list[5] as (typeof list)[number]).current === list[4]?.current)
      (list[5] as (typeof list)[number]).current = ((list[4]?.current ?? 0) + 1) % k;
    p.maxMoves = Math.max(2, Math.floor(vms / 3));
  }
  // The current placement must fit, or "never worse than current" means nothing: spread overfull clouds.
  // Capacities leave 8 spare vCPUs per cloud, so k tries always find room. Constrained VMs (0-5) stay.
  const used = new Array<number>(k).fill(0);
  for (const vm of list.slice(0, opts.constraints ? 6 : 0))
    used[vm.current] = (used[vm.current] as number) + vm.vcpus;
  for (const vm of list.slice(opts.constraints ? 6 : 0)) {
    const fits = (c: number) => (used[c] as number) + vm.vcpus <= (p.clouds[c]?.capacity.vcpus ?? 0);
    for (let tries = 0; tries < k && !fits(vm.current); tries++) vm.current = (vm.current + 1) % k;
    used[vm.current] = (used[vm.current] as number) + vm.vcpus;
  }
  for (const img of p.images)
    img.presentAt = Array.from({ length: k }, (_, c) =>
      list.some((vm) => vm.image === p.images.indexOf(img) && vm.current === c),
    );
  return p;
}
