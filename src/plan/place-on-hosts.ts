import { fitHosts, type HostCapacity } from '../../planner/host-fit.js';
import type { PlanProblem } from '../../planner/problem.js';
import type { Inventory } from '../inventory/schema.js';
import { formatCount } from '../text-format.js';

export interface HostPlacement {
  /** Per VM of the problem: its host before and after the plan (null: not known, or none fits). */
  from: (string | null)[];
  to: (string | null)[];
  /** Why a moving VM got no host. */
  notes: string[];
}

/** The destination host of every VM the plan moves into a cloud whose hosts the spec lists. */
export function placeOnHosts(p: PlanProblem, placement: ArrayLike<number>, spec: Inventory): HostPlacement {
  const cloudIndex = new Map(p.clouds.map((c, i) => [c.name, i]));
  const hosts: HostCapacity[] = [];
  for (const h of spec.hosts) {
    const cloud = h.cloud === undefined ? undefined : cloudIndex.get(h.cloud);
    if (cloud === undefined) continue;
    hosts.push({
      name: h.name,
      cloud,
      vcpus: h.capacity?.vcpus ?? Number.POSITIVE_INFINITY,
      memoryGiB: h.capacity?.memoryGiB ?? Number.POSITIVE_INFINITY,
    });
  }
  const hostIndex = new Map(hosts.map((h, i) => [h.name, i]));
  const hostOf = new Map(spec.vms.map((vm) => [vm.name, vm.host]));
  const fit = fitHosts(
    p.vms.map((vm) => ({
      vcpus: vm.vcpus,
      memoryGiB: vm.memoryGiB,
      current: vm.current,
      host: hostIndex.get(hostOf.get(vm.name) ?? '') ?? -1,
    })),
    hosts,
    placement,
  );
  const notes = fit.unfit.map((v) => {
    const vm = p.vms[v] as PlanProblem['vms'][number];
    const cloud = placement[v] as number;
    const roomiest = hosts
      .map((h, i) => ({ h, free: fit.free[i] as { vcpus: number; memoryGiB: number } }))
      .filter(({ h }) => h.cloud === cloud)
      .sort((a, b) => b.free.vcpus - a.free.vcpus || b.free.memoryGiB - a.free.memoryGiB)[0];
    const left =
      roomiest === undefined
        ? ''
        : `; the roomiest, ${roomiest.h.name}, has ${formatCount(roomiest.free.vcpus)} vCPUs and ${formatCount(roomiest.free.memoryGiB)} GiB left`;
    return `VM ${vm.name}: no host in ${p.clouds[cloud]?.name} has room for it (${formatCount(vm.vcpus)} vCPUs, ${formatCount(vm.memoryGiB)} GiB)${left}`;
  });
  const from = p.vms.map((vm) => hostOf.get(vm.name) ?? null);
  return {
    from,
    // A VM that stays keeps the host it has, whether or not the spec lists that host.
    to: Array.from(fit.host, (h, v) =>
      h >= 0 ? (hosts[h]?.name ?? null) : placement[v] === p.vms[v]?.current ? (from[v] ?? null) : null,
    ),
    notes,
  };
}
