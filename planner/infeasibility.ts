import type { PlanProblem } from './problem.js';
import { buildUnits } from './units.js';

/**
 * Constraint conflicts that make every placement infeasible, found before any solver runs, each naming
 * the constraints involved. Empty does not prove feasibility (capacity packing can still fail), but
 * the common mistakes are caught with a precise message.
 */
export function findConflicts(p: PlanProblem): string[] {
  const k = p.clouds.length;
  const out: string[] = [];
  const allowedNames = (allowed: ArrayLike<number | boolean>) =>
    p.clouds
      .filter((_, c) => allowed[c])
      .map((c) => c.name)
      .join(', ') || 'no cloud';
  p.vms.forEach((vm) => {
    if (!vm.allowed.some(Boolean))
      out.push(
        `VM ${vm.name} may run in no cloud (pinned, allowedClouds and deniedClouds together exclude all)`,
      );
  });
  const units = buildUnits(p);
  units.members.forEach((vs, u) => {
    if (vs.length < 2) return;
    const allowed = units.allowed.subarray(u * k, (u + 1) * k);
    const names = vs.map((v) => p.vms[v]?.name).join(', ');
    if (!allowed.some(Boolean)) {
      const each = vs.map((v) => `${p.vms[v]?.name}: ${allowedNames(p.vms[v]?.allowed ?? [])}`).join('; ');
      out.push(`affinity group [${names}] has no cloud every member may use (${each})`);
      return;
    }
    const fits = p.clouds.some(
      (c, i) =>
        allowed[i] &&
        (units.vcpus[u] as number) <= c.capacity.vcpus &&
        (units.memoryGiB[u] as number) <= c.capacity.memoryGiB &&
        (units.count[u] as number) <= c.capacity.vms,
    );
    if (!fits)
      out.push(
        `affinity group [${names}] needs ${units.vcpus[u]} vCPUs and ${units.memoryGiB[u]} GiB: no allowed cloud has that capacity`,
      );
  });
  p.antiAffinity.forEach((group) => {
    const names = group.map((v) => p.vms[v]?.name).join(', ');
    if (group.length > k)
      out.push(`anti-affinity group [${names}] has ${group.length} VMs but there are only ${k} clouds`);
    const pinned = new Map<number, string>();
    for (const v of group) {
      const vm = p.vms[v];
      const only = vm?.allowed.flatMap((a, c) => (a ? [c] : [])) ?? [];
      if (only.length !== 1) continue;
      const other = pinned.get(only[0] as number);
      if (other !== undefined)
        out.push(
          `anti-affinity group [${names}]: ${other} and ${vm?.name} may both run only in ${p.clouds[only[0] as number]?.name}`,
        );
      pinned.set(only[0] as number, vm?.name ?? '');
    }
    const sameUnit = new Map<number, string>();
    for (const v of group) {
      const u = units.unitOf[v] as number;
      const other = sameUnit.get(u);
      if (other !== undefined)
        out.push(
          `VMs ${other} and ${p.vms[v]?.name} are in one affinity group and in anti-affinity group [${names}]`,
        );
      sameUnit.set(u, p.vms[v]?.name ?? '');
    }
  });
  for (const r of ['vcpus', 'memoryGiB', 'vms'] as const) {
    const demand = p.vms.reduce((s, vm) => s + (r === 'vms' ? 1 : vm[r]), 0);
    const supply = p.clouds.reduce((s, c) => s + c.capacity[r], 0);
    if (demand > supply) out.push(`the VMs need ${demand} ${r} in all, the clouds offer ${supply}`);
  }
  return out;
}
