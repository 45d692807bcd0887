import { GB, type PlanProblem } from '../problem.js';
import type { Units } from '../units.js';
import type { Level, Partitioning } from './level.js';

/** The finest level: one vertex per unit (affinity group or single VM), edges between units. */
export function problemLevel(
  p: PlanProblem,
  units: Units,
  unitUnary: Float64Array,
): { level: Level; part: Partitioning } {
  const k = p.clouds.length;
  const n = units.members.length;
  const pairs = new Map<number, [number, number]>();
  for (let i = 0; i < p.edges.rate.length; i++) {
    const a = units.unitOf[p.edges.from[i] as number] as number;
    const b = units.unitOf[p.edges.to[i] as number] as number;
    if (a === b) continue;
    const lo = Math.min(a, b);
    const key = lo * n + Math.max(a, b);
    const entry = pairs.get(key) ?? [0, 0];
    // entry[0]: lo → hi, entry[1]: hi → lo
    entry[a === lo ? 0 : 1] += p.edges.rate[i] as number;
    pairs.set(key, entry);
  }
  const degree = new Int32Array(n + 1);
  for (const key of pairs.keys()) {
    degree[Math.floor(key / n) + 1] = (degree[Math.floor(key / n) + 1] as number) + 1;
    degree[(key % n) + 1] = (degree[(key % n) + 1] as number) + 1;
  }
  for (let v = 0; v < n; v++) degree[v + 1] = (degree[v + 1] as number) + (degree[v] as number);
  const xadj = Int32Array.from(degree);
  const fill = degree.slice(0, n);
  const adjncy = new Int32Array(xadj[n] as number);
  const out = new Float64Array(adjncy.length);
  const inn = new Float64Array(adjncy.length);
  for (const [key, [loToHi, hiToLo]] of pairs) {
    const lo = Math.floor(key / n);
    const hi = key % n;
    let at = fill[lo] as number;
    adjncy[at] = hi;
    out[at] = loToHi;
    inn[at] = hiToLo;
    fill[lo] = at + 1;
    at = fill[hi] as number;
    adjncy[at] = lo;
    out[at] = hiToLo;
    inn[at] = loToHi;
    fill[hi] = at + 1;
  }
  const anti = new Map<number, number[]>();
  p.antiAffinity.forEach((group, g) => {
    for (const v of group) {
      const u = units.unitOf[v] as number;
      anti.set(u, [...(anti.get(u) ?? []), g]);
    }
  });
  const level: Level = {
    n,
    k,
    xadj,
    adjncy,
    out,
    in: inn,
    vcpus: units.vcpus,
    memoryGiB: units.memoryGiB,
    count: units.count,
    allowed: units.allowed,
    unary: unitUnary,
    anti,
  };
  const capacity = new Float64Array(k * 3);
  p.clouds.forEach((c, i) => {
    capacity[i * 3] = c.capacity.vcpus;
    capacity[i * 3 + 1] = c.capacity.memoryGiB;
    capacity[i * 3 + 2] = c.capacity.vms;
  });
  return { level, part: { k, capacity, egress: p.egress, perGB: p.horizonSeconds / GB } };
}
