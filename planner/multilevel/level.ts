/**
 * One level of the multilevel hierarchy: a graph of (merged) units in compressed adjacency. Each
 * undirected neighbour entry carries both directions' traffic, because egress prices may differ by
 * direction. `unary[v * k + c]` is the cost of v in c that does not depend on other vertices.
 */
export interface Level {
  n: number;
  k: number;
  xadj: Int32Array;
  adjncy: Int32Array;
  /** Bytes/s from v to adjncy[i], and from adjncy[i] to v. */
  out: Float64Array;
  in: Float64Array;
  vcpus: Float64Array;
  memoryGiB: Float64Array;
  count: Float64Array;
  allowed: Uint8Array;
  unary: Float64Array;
  /** Anti-affinity groups each vertex contains (absent for most). */
  anti: Map<number, number[]>;
  /** For a coarse level: the coarse vertex of each vertex of the finer level. */
  fineToCoarse?: Int32Array;
}

/** Cloud capacities and the price/time scale shared by every level. */
export interface Partitioning {
  k: number;
  capacity: Float64Array; // c * 3 + r
  egress: Float64Array; // a * k + b, $/GB
  perGB: number; // horizon seconds / 1e9: rate × perGB × price = $
}
