import { knownVms } from '../inventory/load-inventory.js';
import type { Inventory } from '../inventory/schema.js';
import type { ExecutablePlan } from '../plan/read-plan.js';

/**
 * Everything wrong with a plan before any of it is scheduled, every problem at once: moves of VMs or into
 * clouds the plan does not know, moves that disagree with the placement, an end state over a cloud's
 * capacity, and, given the inventory (clouds spec), VMs it does not list or places elsewhere, and moves
 * that break its constraints. A hand-edited plan is the usual cause.
 */
export function planProblems(plan: ExecutablePlan, inventory?: Inventory): string[] {
  const problems: string[] = [];
  const clouds = new Map(plan.clouds.map((c) => [c.name, c.capacity]));
  const seen = new Set<string>();
  for (const m of plan.moves) {
    const what = `move of ${m.vm} (${m.from} → ${m.to})`;
    if (seen.has(m.vm)) problems.push(`${what}: ${m.vm} moves more than once`);
    seen.add(m.vm);
    if (m.from === m.to) problems.push(`${what}: it goes nowhere`);
    for (const cloud of [m.from, m.to])
      if (!clouds.has(cloud)) problems.push(`${what}: the plan has no cloud ${cloud}`);
    const placed = plan.placement[m.vm];
    if (placed === undefined) problems.push(`${what}: ${m.vm} is not in the plan's placement`);
    else if (placed !== m.to) problems.push(`${what}: the placement puts ${m.vm} in ${placed}`);
  }

  const load = new Map(plan.before.load.map((l) => [l.cloud, { ...l }]));
  const at = (cloud: string) => {
    const l = load.get(cloud) ?? { cloud, vcpus: 0, memoryGiB: 0, vms: 0 };
    load.set(cloud, l);
    return l;
  };
  for (const m of plan.moves) {
    const [from, to] = [at(m.from), at(m.to)];
    from.vcpus -= m.vcpus;
    from.memoryGiB -= m.memoryGiB;
    from.vms--;
    to.vcpus += m.vcpus;
    to.memoryGiB += m.memoryGiB;
    to.vms++;
  }
  const specCapacity = new Map((inventory?.clouds ?? []).map((c) => [c.name, c.capacity]));
  for (const [cloud, l] of load) {
    for (const capacity of [clouds.get(cloud), specCapacity.get(cloud)]) {
      if (capacity === undefined) continue;
      for (const key of ['vcpus', 'memoryGiB', 'vms'] as const) {
        const limit = capacity[key];
        if (limit !== null && limit !== undefined && l[key] > limit + 1e-9)
          problems.push(
            `after the moves ${cloud} would hold ${l[key]} ${key}, over its capacity of ${limit}`,
          );
      }
    }
  }
  if (inventory !== undefined && inventory.hosts.length > 0) problems.push(...hostProblems(plan, inventory));
  if (inventory !== undefined && inventory.vms.length > 0)
    problems.push(...inventoryProblems(plan, inventory));
  return [...new Set(problems)];
}

/** Hosts the moves name must be the spec's, in the move's clouds; a cloud with hosts needs one chosen. */
function hostProblems(plan: ExecutablePlan, inventory: Inventory): string[] {
  const problems: string[] = [];
  const hostCloud = new Map(inventory.hosts.map((h) => [h.name, h.cloud]));
  const withHosts = new Set(inventory.hosts.map((h) => h.cloud));
  for (const m of plan.moves) {
    const what = `move of ${m.vm} (${m.from} → ${m.to})`;
    for (const [host, cloud] of [
      [m.fromHost, m.from],
      [m.toHost, m.to],
    ] as const) {
      if (host === null) continue;
      if (!hostCloud.has(host)) problems.push(`${what}: the clouds spec has no host ${host}`);
      else if (hostCloud.get(host) !== cloud)
        problems.push(`${what}: host ${host} is in ${hostCloud.get(host) ?? 'no cloud'}, not ${cloud}`);
    }
    if (m.toHost === null && withHosts.has(m.to))
      problems.push(
        `${what}: no destination host, though ${m.to} lists hosts (no host had room when it was planned)`,
      );
  }
  return problems;
}

function inventoryProblems(plan: ExecutablePlan, inventory: Inventory): string[] {
  const problems: string[] = [];
  const clouds = new Map(knownVms(inventory).map((vm) => [vm.name, vm.cloud]));
  const vms = new Map(inventory.vms.map((vm) => [vm.name, { ...vm, cloud: clouds.get(vm.name) }]));
  for (const m of plan.moves) {
    const vm = vms.get(m.vm);
    const what = `move of ${m.vm} (${m.from} → ${m.to})`;
    if (vm === undefined) {
      problems.push(`${what}: the inventory has no VM ${m.vm}`);
      continue;
    }
    if (vm.cloud !== undefined && vm.cloud !== m.from)
      problems.push(`${what}: the inventory has ${m.vm} in ${vm.cloud}, not ${m.from}`);
    if (vm.host !== undefined && m.fromHost !== null && vm.host !== m.fromHost)
      problems.push(`${what}: the inventory has ${m.vm} on host ${vm.host}, not ${m.fromHost}`);
    if (vm.pinned === true) problems.push(`${what}: ${m.vm} is pinned`);
    if (vm.allowedClouds !== undefined && !vm.allowedClouds.includes(m.to))
      problems.push(`${what}: ${m.vm} may only run in ${vm.allowedClouds.join(', ')}`);
    if (vm.deniedClouds?.includes(m.to)) problems.push(`${what}: ${m.vm} may not run in ${m.to}`);
  }
  const constraints = inventory.constraints;
  if (constraints === undefined) return problems;
  const where = (vm: string) => plan.placement[vm] ?? vms.get(vm)?.cloud;
  for (const group of constraints.affinity) {
    const places = new Set(group.map(where).filter((c) => c !== undefined));
    if (places.size > 1)
      problems.push(`affinity group [${group.join(', ')}] would end in ${[...places].join(', ')}`);
  }
  for (const group of constraints.antiAffinity) {
    const places = group.map(where).filter((c) => c !== undefined);
    if (new Set(places).size < places.length)
      problems.push(`anti-affinity group [${group.join(', ')}] would share a cloud`);
  }
  if (constraints.maxMoves !== undefined && plan.moves.length > constraints.maxMoves)
    problems.push(
      `${plan.moves.length} moves, over the limit of ${constraints.maxMoves} (constraints.maxMoves)`,
    );
  return problems;
}
