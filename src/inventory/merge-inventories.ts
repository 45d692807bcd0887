import type { Inventory } from './schema.js';

/** Clouds spec + separate inventory: clouds from the spec, VMs and hosts from both (inventory wins). */
export function mergeInventories(spec: Inventory, inventory: Inventory): Inventory {
  const vms = new Map(spec.vms.map((vm) => [vm.name, vm]));
  for (const vm of inventory.vms) vms.set(vm.name, { ...vms.get(vm.name), ...vm });
  const merged: Inventory = {
    clouds: spec.clouds.length > 0 ? spec.clouds : inventory.clouds,
    hosts: [...spec.hosts, ...inventory.hosts],
    vms: [...vms.values()],
    images: [...spec.images, ...inventory.images],
  };
  const constraints = spec.constraints ?? inventory.constraints;
  if (constraints !== undefined) merged.constraints = constraints;
  return merged;
}
