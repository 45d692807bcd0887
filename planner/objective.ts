import { GB, type PlanProblem } from './problem.js';

/** Money over the horizon, by kind. */
export interface CostBreakdown {
  /** Traffic between VMs in different clouds (billed egress). */
  egress: number;
  /** Traffic to the internet and to fixed endpoints in other clouds. */
  internet: number;
  compute: number;
  /** One-time: WAN bytes of the moves, plus the downtime penalty. */
  migration: number;
  total: number;
}

export interface Evaluation {
  cost: CostBreakdown;
  moves: number;
  migrationBytes: number;
  migrationSeconds: number;
}

/**
 * Per-(VM, cloud) cost that does not depend on other VMs: compute, internet and fixed-endpoint egress
 * over the horizon, and the VM's own migration bytes and downtime when the cloud is not its current one.
 * unary[v * k + c].
 */
export function unaryCosts(p: PlanProblem): Float64Array {
  const k = p.clouds.length;
  const hours = p.horizonSeconds / 3600;
  const out = new Float64Array(p.vms.length * k);
  p.vms.forEach((vm, v) => {
    for (let c = 0; c < k; c++) {
      const cloud = p.clouds[c] as (typeof p.clouds)[number];
      let cost =
        hours *
        (vm.vcpus * cloud.compute.vcpuHour + vm.memoryGiB * cloud.compute.gibHour + cloud.compute.vmHour);
      cost += ((vm.internetRate * p.horizonSeconds) / GB) * cloud.internetPerGB;
      for (let d = 0; d < k; d++) {
        // Fixed endpoints: what this VM sends to cloud d pays c's egress, what it receives pays d's.
        cost += (((vm.fixedOut[d] ?? 0) * p.horizonSeconds) / GB) * (p.egress[c * k + d] as number);
        cost += (((vm.fixedIn[d] ?? 0) * p.horizonSeconds) / GB) * (p.egress[d * k + c] as number);
      }
      if (vm.current >= 0 && c !== vm.current) {
        cost += (vm.uniqueBytes / GB) * (p.egress[vm.current * k + c] as number) + p.downtimePenalty;
      }
      out[v * k + c] = cost;
    }
  });
  return out;
}

/** $/GB to bring an image's shared content to cloud c: from the cheapest cloud that already has it. */
export function sharedPrice(p: PlanProblem, image: number, c: number): number {
  const source = sharedSource(p, image, c);
  return source < 0 ? 0 : (p.egress[source * p.clouds.length + c] as number);
}

/** The cloud shared content comes from (for transfer time), or -1 when none has it yet. */
export function sharedSource(p: PlanProblem, image: number, c: number): number {
  const img = p.images[image];
  const k = p.clouds.length;
  let best = -1;
  for (let a = 0; a < k; a++) {
    if (
      img?.presentAt[a] &&
      (best < 0 || (p.egress[a * k + c] as number) < (p.egress[best * k + c] as number))
    )
      best = a;
  }
  return best;
}

/** The full objective of a placement, with its parts. Pure; used by every solver and the report. */
export function evaluate(p: PlanProblem, placement: ArrayLike<number>, unary = unaryCosts(p)): Evaluation {
  const k = p.clouds.length;
  const hours = p.horizonSeconds / 3600;
  let compute = 0;
  let internet = 0;
  let migration = 0;
  let moves = 0;
  let migrationBytes = 0;
  let migrationSeconds = 0;
  const imageShipped = new Set<number>();
  p.vms.forEach((vm, v) => {
    const c = placement[v] as number;
    const cloud = p.clouds[c] as (typeof p.clouds)[number];
    const computeCost =
      hours *
      (vm.vcpus * cloud.compute.vcpuHour + vm.memoryGiB * cloud.compute.gibHour + cloud.compute.vmHour);
    compute += computeCost;
    let moveCost = 0;
    if (vm.current >= 0 && c !== vm.current) {
      moves++;
      moveCost = (vm.uniqueBytes / GB) * (p.egress[vm.current * k + c] as number) + p.downtimePenalty;
      migrationBytes += vm.uniqueBytes;
      migrationSeconds += vm.uniqueBytes / (p.wan[vm.current * k + c] as number);
      if (vm.image >= 0 && !p.images[vm.image]?.presentAt[c]) imageShipped.add(vm.image * k + c);
    }
    migration += moveCost;
    internet += (unary[v * k + c] as number) - computeCost - moveCost;
  });
  for (const key of imageShipped) {
    const image = Math.floor(key / k);
    const c = key % k;
    const bytes = p.images[image]?.sharedBytes ?? 0;
    migration += (bytes / GB) * sharedPrice(p, image, c);
    migrationBytes += bytes;
    const source = sharedSource(p, image, c);
    if (source >= 0) migrationSeconds += bytes / (p.wan[source * k + c] as number);
  }
  let egress = 0;
  const { from, to, rate } = p.edges;
  for (let i = 0; i < rate.length; i++) {
    const a = placement[from[i] as number] as number;
    const b = placement[to[i] as number] as number;
    if (a !== b) egress += (((rate[i] as number) * p.horizonSeconds) / GB) * (p.egress[a * k + b] as number);
  }
  return {
    cost: { egress, internet, compute, migration, total: egress + internet + compute + migration },
    moves,
    migrationBytes,
    migrationSeconds,
  };
}

/** Hard constraints a placement breaks, in words an operator can act on; empty when feasible. */
export function violations(p: PlanProblem, placement: ArrayLike<number>, unary = unaryCosts(p)): string[] {
  const k = p.clouds.length;
  const out: string[] = [];
  const used = Array.from({ length: k }, () => ({ vcpus: 0, memoryGiB: 0, vms: 0 }));
  p.vms.forEach((vm, v) => {
    const c = placement[v] as number;
    if (!(c >= 0 && c < k)) {
      out.push(`${vm.name} has no cloud`);
      return;
    }
    if (!vm.allowed[c]) out.push(`${vm.name} may not run in ${p.clouds[c]?.name}`);
    const u = used[c] as { vcpus: number; memoryGiB: number; vms: number };
    u.vcpus += vm.vcpus;
    u.memoryGiB += vm.memoryGiB;
    u.vms++;
  });
  p.clouds.forEach((cloud, c) => {
    const u = used[c] as { vcpus: number; memoryGiB: number; vms: number };
    for (const r of ['vcpus', 'memoryGiB', 'vms'] as const) {
      if (u[r] > cloud.capacity[r] + 1e-9)
        out.push(`${cloud.name}: ${r} ${u[r]} exceeds the capacity of ${cloud.capacity[r]}`);
    }
  });
  for (const group of p.affinity) {
    const clouds = new Set(group.map((v) => placement[v]));
    if (clouds.size > 1) out.push(`affinity group ${names(p, group)} is split over ${clouds.size} clouds`);
  }
  for (const group of p.antiAffinity) {
    const clouds = new Set(group.map((v) => placement[v]));
    if (clouds.size < group.length) out.push(`anti-affinity group ${names(p, group)} shares a cloud`);
  }
  const e = evaluate(p, placement, unary);
  if (p.maxMoves !== undefined && e.moves > p.maxMoves)
    out.push(`${e.moves} moves exceed the maximum of ${p.maxMoves}`);
  const b = p.budget;
  if (b?.bytes !== undefined && e.migrationBytes > b.bytes * (1 + 1e-9)) {
    out.push(`migration bytes ${e.migrationBytes} exceed the budget of ${b.bytes}`);
  }
  if (b?.dollars !== undefined && e.cost.migration > b.dollars * (1 + 1e-9)) {
    out.push(`migration cost $${e.cost.migration.toFixed(2)} exceeds the budget of $${b.dollars}`);
  }
  if (b?.seconds !== undefined && e.migrationSeconds > b.seconds * (1 + 1e-9)) {
    out.push(`migration time ${e.migrationSeconds.toFixed(0)} s exceeds the budget of ${b.seconds} s`);
  }
  return out;
}

function names(p: PlanProblem, group: number[]): string {
  return `[${group.map((v) => p.vms[v]?.name).join(', ')}]`;
}
