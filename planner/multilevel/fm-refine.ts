import type { Level, Partitioning } from './level.js';
import { antiAllows, antiIndex, costs, fits } from './refine.js';

/**
 * Fiduccia-Mattheyses hill climbing over k clouds: repeatedly move the unlocked vertex with the best
 * gain, even a negative one, lock it, and after a run of moves with no new best, roll back to the best
 * point seen. It escapes the local minima where greedy refinement stops. Gains live in a binary max-heap
 * with lazy deletion (stale entries are re-checked when they surface).
 */
export function fmRefine(
  level: Level,
  part: Partitioning,
  where: Int32Array,
  used: Float64Array,
  patience = 200,
): void {
  const { k, egress: E, perGB } = part;
  const anti = antiIndex(level);
  // Every vertex's cost in every cloud, kept up to date as its neighbours move: a move then costs its
  // own degree times k, not the sum of its neighbours' degrees (coarse levels are dense).
  const cost = new Float64Array(level.n * k);
  const row = new Float64Array(k);
  for (let v = 0; v < level.n; v++) {
    costs(level, part, where, v, row);
    cost.set(row, v * k);
  }
  const locked = new Uint8Array(level.n);
  const heap = new MaxHeap();
  const bestMove = (v: number): [number, number] => {
    const a = where[v] as number;
    const at = v * k;
    let best = -1;
    for (let c = 0; c < k; c++) {
      if (
        c === a ||
        !level.allowed[at + c] ||
        !fits(level, part, used, v, c) ||
        !antiAllows(level, anti, where, v, c)
      )
        continue;
      if (best < 0 || (cost[at + c] as number) < (cost[at + best] as number)) best = c;
    }
    return best < 0
      ? [-1, Number.NEGATIVE_INFINITY]
      : [best, (cost[at + a] as number) - (cost[at + best] as number)];
  };
  /** v moved from a to b: each neighbour's traffic with v is now priced against b. */
  const moved = (v: number, a: number, b: number) => {
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
      const at = (level.adjncy[i] as number) * k;
      // The neighbour sends what v receives, and receives what v sends.
      const sends = (level.in[i] as number) * perGB;
      const receives = (level.out[i] as number) * perGB;
      for (let c = 0; c < k; c++) {
        cost[at + c] =
          (cost[at + c] as number) +
          sends * ((E[c * k + b] as number) - (E[c * k + a] as number)) +
          receives * ((E[b * k + c] as number) - (E[a * k + c] as number));
      }
    }
  };
  const boundary = (v: number) => {
    const a = where[v] as number;
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++)
      if (where[level.adjncy[i] as number] !== a) return true;
    return false;
  };
  for (let v = 0; v < level.n; v++) {
    if (!boundary(v)) continue;
    const [, gain] = bestMove(v);
    if (gain > Number.NEGATIVE_INFINITY) heap.push(gain, v);
  }
  const moves: [number, number][] = []; // [vertex, from]
  let total = 0;
  let bestTotal = 0;
  let bestLength = 0;
  while (heap.size > 0 && moves.length - bestLength < patience) {
    const [gain, v] = heap.pop();
    if (locked[v]) continue;
    const [to, fresh] = bestMove(v);
    if (to < 0) continue;
    if (fresh < gain - 1e-12) {
      heap.push(fresh, v); // stale: its neighbourhood changed since it was queued
      continue;
    }
    const from = where[v] as number;
    move(level, used, where, v, from, to);
    moved(v, from, to);
    locked[v] = 1;
    moves.push([v, from]);
    total += fresh;
    if (total > bestTotal + 1e-12) {
      bestTotal = total;
      bestLength = moves.length;
    }
    for (let i = level.xadj[v] as number; i < (level.xadj[v + 1] as number); i++) {
      const w = level.adjncy[i] as number;
      if (locked[w]) continue;
      const [, g] = bestMove(w);
      if (g > Number.NEGATIVE_INFINITY) heap.push(g, w);
    }
  }
  for (let i = moves.length - 1; i >= bestLength; i--) {
    const [v, from] = moves[i] as [number, number];
    move(level, used, where, v, where[v] as number, from);
  }
}

function move(
  level: Level,
  used: Float64Array,
  where: Int32Array,
  v: number,
  from: number,
  to: number,
): void {
  used[from * 3] = (used[from * 3] as number) - (level.vcpus[v] as number);
  used[from * 3 + 1] = (used[from * 3 + 1] as number) - (level.memoryGiB[v] as number);
  used[from * 3 + 2] = (used[from * 3 + 2] as number) - (level.count[v] as number);
  used[to * 3] = (used[to * 3] as number) + (level.vcpus[v] as number);
  used[to * 3 + 1] = (used[to * 3 + 1] as number) + (level.memoryGiB[v] as number);
  used[to * 3 + 2] = (used[to * 3 + 2] as number) + (level.count[v] as number);
  where[v] = to;
}

/** A binary max-heap of (gain, vertex) in parallel growable arrays. */
class MaxHeap {
  private gains: number[] = [];
  private items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(gain: number, item: number): void {
    let i = this.items.length;
    this.gains.push(gain);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.gains[parent] as number) >= gain) break;
      this.gains[i] = this.gains[parent] as number;
      this.items[i] = this.items[parent] as number;
      i = parent;
    }
    this.gains[i] = gain;
    this.items[i] = item;
  }

  pop(): [number, number] {
    const top: [number, number] = [this.gains[0] as number, this.items[0] as number];
    const lastGain = this.gains.pop() as number;
    const lastItem = this.items.pop() as number;
    const n = this.items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (this.gains[r] as number) > (this.gains[l] as number) ? r : l;
        if ((this.gains[c] as number) <= lastGain) break;
        this.gains[i] = this.gains[c] as number;
        this.items[i] = this.items[c] as number;
        i = c;
      }
      this.gains[i] = lastGain;
      this.items[i] = lastItem;
    }
    return top;
  }
}
