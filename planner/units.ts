import type { PlanProblem } from './problem.js';

/**
 * Affinity groups merged into units that always move together (union-find over the groups), with their
 * combined demand and the clouds every member may use.
 */
export interface Units {
  /** unitOf[v]: the unit of VM v. */
  unitOf: Int32Array;
  members: number[][];
  vcpus: Float64Array;
  memoryGiB: Float64Array;
  count: Float64Array;
  /** allowed[u * k + c] */
  allowed: Uint8Array;
}

export function buildUnits(p: PlanProblem): Units {
  const n = p.vms.length;
  const k = p.clouds.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x] as number] as number;
      x = parent[x] as number;
    }
    return x;
  };
  for (const group of p.affinity)
    for (let i = 1; i < group.length; i++) parent[find(group[i] as number)] = find(group[0] as number);
  const unitOf = new Int32Array(n);
  const rootUnit = new Map<number, number>();
  const members: number[][] = [];
  for (let v = 0; v < n; v++) {
    const r = find(v);
    let u = rootUnit.get(r);
    if (u === undefined) {
      u = members.length;
      rootUnit.set(r, u);
      members.push([]);
    }
    unitOf[v] = u;
    (members[u] as number[]).push(v);
  }
  const m = members.length;
  const units: Units = {
    unitOf,
    members,
    vcpus: new Float64Array(m),
    memoryGiB: new Float64Array(m),
    count: new Float64Array(m),
    allowed: new Uint8Array(m * k).fill(1),
  };
  members.forEach((vs, u) => {
    for (const v of vs) {
      const vm = p.vms[v] as (typeof p.vms)[number];
      units.vcpus[u] = (units.vcpus[u] as number) + vm.vcpus;
      units.memoryGiB[u] = (units.memoryGiB[u] as number) + vm.memoryGiB;
      units.count[u] = (units.count[u] as number) + 1;
      for (let c = 0; c < k; c++) if (!vm.allowed[c]) units.allowed[u * k + c] = 0;
    }
  });
  return units;
}
