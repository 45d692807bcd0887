/** A hypervisor the planner may place VMs on; Infinity where its capacity sets no limit. */
export interface HostCapacity {
  name: string;
  cloud: number;
  vcpus: number;
  memoryGiB: number;
}

export interface HostedVm {
  vcpus: number;
  memoryGiB: number;
  /** Its cloud now (-1: a new VM) and its host there (an index into the hosts, -1: not known). */
  current: number;
  host: number;
}

export interface HostFit {
  /** Per VM: its host once the placement is carried out, or -1 (its cloud lists no hosts, or none fits). */
  host: Int32Array;
  /** VMs moving into a cloud with hosts where no host has room for them. */
  unfit: number[];
  /** Per host: what is left free once the placement is carried out. */
  free: { vcpus: number; memoryGiB: number }[];
}

/**
 * Puts each VM that arrives in a cloud onto one of its hosts, best fit decreasing: the largest VMs
 * first, each onto the host it leaves with the least room (then the one holding fewest arrivals, so hosts
 * with no capacity listed share them out). A VM that stays keeps its host; one that leaves frees it.
 * Per-cloud capacity is the solver's; this only says whether the hosts can hold what it decided, which
 * whole VMs on separate machines may not, even when their sum fits.
 */
export function fitHosts(vms: HostedVm[], hosts: HostCapacity[], placement: ArrayLike<number>): HostFit {
  const host = new Int32Array(vms.length).fill(-1);
  const free = hosts.map((h) => ({ vcpus: h.vcpus, memoryGiB: h.memoryGiB }));
  const arrivals = new Array<number>(hosts.length).fill(0);
  const cloudHasHosts = new Set(hosts.map((h) => h.cloud));
  const arriving: number[] = [];
  vms.forEach((vm, v) => {
    const to = placement[v] as number;
    const stays = vm.current === to && vm.host >= 0 && hosts[vm.host]?.cloud === to;
    if (stays) {
      host[v] = vm.host;
      const f = free[vm.host] as { vcpus: number; memoryGiB: number };
      f.vcpus -= vm.vcpus;
      f.memoryGiB -= vm.memoryGiB;
    } else if (vm.current !== to && cloudHasHosts.has(to)) arriving.push(v);
  });
  arriving.sort((a, b) => {
    const x = vms[a] as HostedVm;
    const y = vms[b] as HostedVm;
    return y.vcpus - x.vcpus || y.memoryGiB - x.memoryGiB || a - b;
  });
  const unfit: number[] = [];
  for (const v of arriving) {
    const vm = vms[v] as HostedVm;
    let best = -1;
    hosts.forEach((h, i) => {
      const f = free[i] as { vcpus: number; memoryGiB: number };
      if (h.cloud !== placement[v] || f.vcpus < vm.vcpus || f.memoryGiB < vm.memoryGiB) return;
      if (best < 0) {
        best = i;
        return;
      }
      const g = free[best] as { vcpus: number; memoryGiB: number };
      const tighter =
        f.vcpus - g.vcpus ||
        f.memoryGiB - g.memoryGiB ||
        (arrivals[i] as number) - (arrivals[best] as number);
      if (tighter < 0) best = i;
    });
    if (best < 0) {
      unfit.push(v);
      continue;
    }
    host[v] = best;
    arrivals[best] = (arrivals[best] as number) + 1;
    const f = free[best] as { vcpus: number; memoryGiB: number };
    f.vcpus -= vm.vcpus;
    f.memoryGiB -= vm.memoryGiB;
  }
  return { host, unfit, free };
}
