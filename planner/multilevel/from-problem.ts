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
  // Both ends of every edge between units, grouped by unit, then merged per neighbour in one pass
  // with a marker array (typed arrays only: a map of pairs allocated per edge on large graphs).
  const m = p.edges.rate.length;
  const start = new Int32Array(n + 1);
  for (let i = 0; i < m; i++) {
    const a = units.unitOf[p.edges.from[i] as number] as number;
    const b = units.unitOf[p.edges.to[i] as number] as number;
    if (a === b) continue;
    start[a + 1] = (start[a + 1] as number) + 1;
    start[b + 1] = (start[b + 1] as number) + 1;
  }
  for (let v = 0; v < n; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
  const fill = start.slice(0, n);
  const peer = new Int32Array(start[n] as number);
  const sent = new Float64Array(peer.length);
  const received = new Float64Array(peer.length);
  for (let i = 0; i < m; i++) {
    const a = units.unitOf[p.edges.from[i] as number] as number;
    const b = units.unitOf[p.edges.to[i] as number] as number;
    if (a === b) continue;
    const rate = p.edges.rate[i] as number;
    let at = fill[a] as number;
    peer[at] = b;
    sent[at] = rate;
    fill[a] = at + 1;
    at = fill[b] as number;
    peer[at] = a;
    received[at] = rate;
    fill[b] = at + 1;
  }
  const xadj = new Int32Array(n + 1);
  const adjncy = new Int32Array(peer.length);
  const out = new Float64Array(peer.length);
  const inn = new Float64Array(peer.length);
  const slot = new Int32Array(n).fill(-1);
  let next = 0;
  for (let v = 0; v < n; v++) {
    const first = next;
    for (let i = start[v] as number; i < (start[v + 1] as number); i++) {
      const w = peer[i] as number;
      let at = slot[w] as number;
      if (at < first) {
        at = next++;
        slot[w] = at;
        adjncy[at] = w;
      }
      out[at] = (out[at] as number) + (sent[i] as number);
      inn[at] = (inn[at] as number) + (received[i] as number);
    }
    xadj[v + 1] = next;
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
    adjncy: adjncy.subarray(0, next),
    out: out.subarray(0, next),
    in: inn.subarray(0, next),
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
