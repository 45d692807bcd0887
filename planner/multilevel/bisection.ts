import type { Level, Partitioning } from './level.js';

/**
 * Initial assignment of the coarsest level by recursive bisection, as METIS starts its k-way
 * partitioning: the clouds split in two halves, a region grown breadth-first from a far vertex takes the
 * first half's share of the vertices, and each side is split again. Regions grown this way are compact,
 * which greedy cloud-by-cloud assignment does not give on meshes. Only for levels every cloud may hold
 * whole (no residency, pins or anti-affinity): null otherwise, and the greedy assignment stands alone.
 */
export function recursiveBisection(level: Level, part: Partitioning, rng: () => number): Int32Array | null {
  if (level.anti.size > 0 || level.allowed.some((a) => a === 0)) return null;
  const where = new Int32Array(level.n).fill(-1);
  const share = cloudShares(part);
  const split = (vertices: number[], clouds: number[]) => {
    if (clouds.length === 1) {
      for (const v of vertices) where[v] = clouds[0] as number;
      return;
    }
    const left = clouds.slice(0, Math.floor(clouds.length / 2));
    const right = clouds.slice(left.length);
    const sum = (cs: number[]) => cs.reduce((s, c) => s + (share[c] as number), 0);
    const total = vertices.reduce((s, v) => s + (level.count[v] as number), 0);
    const region = growRegion(level, vertices, (total * sum(left)) / sum(clouds), rng);
    const inLeft = new Uint8Array(level.n);
    for (const v of region) inLeft[v] = 1;
    split(region, left);
    split(
      vertices.filter((v) => inLeft[v] === 0),
      right,
    );
  };
  split(
    Array.from({ length: level.n }, (_, v) => v),
    Array.from({ length: part.k }, (_, c) => c),
  );
  return where;
}

/** Each cloud's share of the VMs: its capacity in VMs, else in vCPUs, else an equal one. */
function cloudShares(part: Partitioning): Float64Array {
  for (const r of [2, 0]) {
    const caps = Float64Array.from({ length: part.k }, (_, c) => part.capacity[c * 3 + r] as number);
    if (caps.every((x) => Number.isFinite(x) && x > 0)) return caps;
  }
  return new Float64Array(part.k).fill(1);
}

/**
 * Vertices of `vertices` in breadth-first order from a pseudo-peripheral one (the last reached from a
 * random start), until their weight reaches `target`; a disconnected rest is entered at its next vertex.
 */
function growRegion(level: Level, vertices: number[], target: number, rng: () => number): number[] {
  const start = vertices[Math.floor(rng() * vertices.length)] as number;
  const far = breadthFirst(level, vertices, start, Number.POSITIVE_INFINITY).at(-1) as number;
  return breadthFirst(level, vertices, far, target);
}

function breadthFirst(level: Level, vertices: number[], start: number, target: number): number[] {
  const member = new Uint8Array(level.n);
  for (const v of vertices) member[v] = 1;
  const seen = new Uint8Array(level.n);
  const order: number[] = [];
  const queue = [start];
  seen[start] = 1;
  let weight = 0;
  let next = 0; // where to look for an unseen vertex when the queue runs dry
  for (let head = 0; weight < target && order.length < vertices.length; head++) {
    if (head === queue.length) {
      while (seen[vertices[next] as number]) next++;
      seen[vertices[next] as number] = 1;
      queue.push(vertices[next] as number);
    }
    const v = queue[head] as number;
    order.push(v);
    weight += level.count[v] as number;
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
      const w = level.adjncy[i] as number;
      if (member[w] && !seen[w]) {
        seen[w] = 1;
        queue.push(w);
      }
    }
  }
  return order;
}
