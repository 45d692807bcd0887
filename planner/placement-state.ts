import { evaluate, sharedPrice, sharedSource, unaryCosts, violations } from './objective.js';
import { GB, type PlanProblem } from './problem.js';
import { buildUnits, type Units } from './units.js';

/** What every placement of one problem shares: units, their costs, adjacency, anti-affinity index. */
export interface PlacementModel {
  units: Units;
  /** unary[v * k + c] per VM, and its sum per unit. */
  unary: Float64Array;
  unitUnary: Float64Array;
  out: [Int32Array, Int32Array, Float64Array];
  in: [Int32Array, Int32Array, Float64Array];
  /** anti[v]: anti-affinity groups VM v belongs to. */
  anti: number[][];
}

export function placementModel(p: PlanProblem): PlacementModel {
  const k = p.clouds.length;
  const n = p.vms.length;
  const units = buildUnits(p);
  const unary = unaryCosts(p);
  const unitUnary = new Float64Array(units.members.length * k);
  units.members.forEach((vs, u) => {
    for (const v of vs)
      for (let c = 0; c < k; c++)
        unitUnary[u * k + c] = (unitUnary[u * k + c] as number) + (unary[v * k + c] as number);
  });
  const anti: number[][] = Array.from({ length: n }, () => []);
  p.antiAffinity.forEach((g, i) => {
    for (const v of g) (anti[v] as number[]).push(i);
  });
  return {
    units,
    unary,
    unitUnary,
    out: csr(n, p.edges.from, p.edges.to, p.edges.rate),
    in: csr(n, p.edges.to, p.edges.from, p.edges.rate),
    anti,
  };
}

/**
 * A placement with everything needed to price and check a move of one unit in time proportional to its
 * edges: cloud loads, move and budget totals, per-(image, cloud) counts of VMs moved in, and directed
 * adjacency. Shared by the greedy solver and the final refinement of the multilevel solver.
 */
export class PlacementState {
  readonly k: number;
  readonly units: Units;
  readonly placement: Int32Array;
  readonly unitCloud: Int32Array;
  readonly unitUnary: Float64Array;
  /** used[c * 3 + r]: vCPUs, GiB, VMs. */
  readonly used: Float64Array;
  moves = 0;
  bytes = 0;
  dollars = 0;
  seconds = 0;
  private readonly imageIn: Int32Array;
  private readonly outStart: Int32Array;
  private readonly outTo: Int32Array;
  private readonly outRate: Float64Array;
  private readonly inStart: Int32Array;
  private readonly inFrom: Int32Array;
  private readonly inRate: Float64Array;
  private readonly anti: number[][];
  private readonly perGB: number;

  constructor(
    readonly p: PlanProblem,
    initial: ArrayLike<number>,
    /** The placement-independent part, when another state of the same problem already built it. */
    readonly model: PlacementModel = placementModel(p),
  ) {
    const k = p.clouds.length;
    const n = p.vms.length;
    this.k = k;
    this.units = model.units;
    this.unitUnary = model.unitUnary;
    this.perGB = p.horizonSeconds / GB;
    [this.outStart, this.outTo, this.outRate] = model.out;
    [this.inStart, this.inFrom, this.inRate] = model.in;
    this.anti = model.anti;
    const m = this.units.members.length;
    this.placement = new Int32Array(n).fill(-1);
    this.unitCloud = new Int32Array(m).fill(-1);
    this.used = new Float64Array(k * 3);
    this.imageIn = new Int32Array(p.images.length * k);
    for (let u = 0; u < m; u++) {
      const c = initial[(this.units.members[u] as number[])[0] as number] as number;
      if (c >= 0) this.assign(u, c);
    }
  }

  /** Capacity, residency and anti-affinity allow unit u in cloud c (ignoring where it is now). */
  fits(u: number, c: number): boolean {
    const k = this.k;
    if (this.units.allowed[u * k + c] === 0) return false;
    const here = this.unitCloud[u] === c;
    if (!here && this.overfull(c, u)) return false;
    return this.antiAllows(u, c);
  }

  /** Cloud c is over a capacity, or would be with unit `adding` in it as well. */
  overfull(c: number, adding = -1): boolean {
    const cap = this.p.clouds[c]?.capacity;
    if (cap === undefined) return true;
    const extra = (weights: Float64Array) => (adding >= 0 ? (weights[adding] as number) : 0);
    return (
      (this.used[c * 3] as number) + extra(this.units.vcpus) > cap.vcpus + 1e-9 ||
      (this.used[c * 3 + 1] as number) + extra(this.units.memoryGiB) > cap.memoryGiB + 1e-9 ||
      (this.used[c * 3 + 2] as number) + extra(this.units.count) > cap.vms + 1e-9
    );
  }

  /** No anti-affinity partner of a member of u (outside u) is in cloud c. */
  antiAllows(u: number, c: number): boolean {
    for (const v of this.units.members[u] as number[]) {
      for (const g of this.anti[v] as number[]) {
        for (const w of this.p.antiAffinity[g] as number[]) {
          if (w !== v && this.units.unitOf[w] !== u && this.placement[w] === c) return false;
        }
      }
    }
    return true;
  }

  /**
   * Cost change of moving unit u to cloud b, or NaN when the move breaks a hard constraint. With
   * `limits` false the move limit and budgets are not checked (for moves that only lower them).
   */
  delta(u: number, b: number, limits = true): number {
    const a = this.unitCloud[u] as number;
    if (a === b) return 0;
    if (!this.fits(u, b)) return Number.NaN;
    const d = this.migrationDelta(u, b);
    const p = this.p;
    if (limits && p.maxMoves !== undefined && this.moves + d.moves > p.maxMoves) return Number.NaN;
    const budget = limits ? p.budget : undefined;
    if (budget?.bytes !== undefined && this.bytes + d.bytes > budget.bytes * (1 + 1e-9)) return Number.NaN;
    if (budget?.dollars !== undefined && this.dollars + d.dollars > budget.dollars * (1 + 1e-9))
      return Number.NaN;
    if (budget?.seconds !== undefined && this.seconds + d.seconds > budget.seconds * (1 + 1e-9))
      return Number.NaN;
    const k = this.k;
    let delta =
      (this.unitUnary[u * k + b] as number) - (a >= 0 ? (this.unitUnary[u * k + a] as number) : 0) + d.shared;
    if (a < 0) return delta;
    const E = p.egress;
    for (const v of this.units.members[u] as number[]) {
      for (let i = this.outStart[v] as number; i < (this.outStart[v + 1] as number); i++) {
        const w = this.outTo[i] as number;
        if (this.units.unitOf[w] === u) continue;
        const cw = this.placement[w] as number;
        if (cw < 0) continue;
        delta +=
          (this.outRate[i] as number) * this.perGB * ((E[b * k + cw] as number) - (E[a * k + cw] as number));
      }
      for (let i = this.inStart[v] as number; i < (this.inStart[v + 1] as number); i++) {
        const w = this.inFrom[i] as number;
        if (this.units.unitOf[w] === u) continue;
        const cw = this.placement[w] as number;
        if (cw < 0) continue;
        delta +=
          (this.inRate[i] as number) * this.perGB * ((E[cw * k + b] as number) - (E[cw * k + a] as number));
      }
    }
    return delta;
  }

  /** Moves unit u to cloud b, keeping every total up to date. */
  assign(u: number, b: number): void {
    const a = this.unitCloud[u] as number;
    if (a === b) return;
    const d = this.migrationDelta(u, b);
    const k = this.k;
    const units = this.units;
    if (a >= 0) this.addLoad(u, a, -1);
    this.addLoad(u, b, 1);
    for (const v of units.members[u] as number[]) {
      const vm = this.p.vms[v] as (typeof this.p.vms)[number];
      if (vm.image >= 0 && vm.current >= 0) {
        if (a >= 0 && a !== vm.current)
          this.imageIn[vm.image * k + a] = (this.imageIn[vm.image * k + a] as number) - 1;
        if (b !== vm.current) this.imageIn[vm.image * k + b] = (this.imageIn[vm.image * k + b] as number) + 1;
      }
      this.placement[v] = b;
    }
    this.unitCloud[u] = b;
    this.moves += d.moves;
    this.bytes += d.bytes;
    this.dollars += d.dollars;
    this.seconds += d.seconds;
  }

  private addLoad(u: number, c: number, sign: number): void {
    this.used[c * 3] = (this.used[c * 3] as number) + sign * (this.units.vcpus[u] as number);
    this.used[c * 3 + 1] = (this.used[c * 3 + 1] as number) + sign * (this.units.memoryGiB[u] as number);
    this.used[c * 3 + 2] = (this.used[c * 3 + 2] as number) + sign * (this.units.count[u] as number);
  }

  /**
   * Takes unit u out of its cloud, releasing its capacity. Move and budget totals are not updated:
   * call `recount` after releasing.
   */
  release(u: number): void {
    const c = this.unitCloud[u] as number;
    if (c < 0) return;
    this.addLoad(u, c, -1);
    this.unitCloud[u] = -1;
    for (const v of this.units.members[u] as number[]) this.placement[v] = -1;
  }

  /** The objective of the current placement (a full evaluation: for checks, not inner loops). */
  totalCost(): number {
    return evaluate(this.p, this.placement, this.model.unary).cost.total;
  }

  feasible(): boolean {
    return !this.placement.includes(-1) && violations(this.p, this.placement, this.model.unary).length === 0;
  }

  /** Recomputes loads, image counts and migration totals from `placement` (after a unit was taken out). */
  recount(): void {
    this.used.fill(0);
    this.imageIn.fill(0);
    this.moves = 0;
    this.bytes = 0;
    this.dollars = 0;
    this.seconds = 0;
    const placed = Int32Array.from(this.unitCloud);
    this.unitCloud.fill(-1);
    this.placement.fill(-1);
    placed.forEach((c, u) => {
      if (c >= 0) this.assign(u, c);
    });
  }

  /** Changes in moves, migration bytes, dollars, seconds and shared-image cost if unit u goes to b. */
  private migrationDelta(u: number, b: number) {
    const a = this.unitCloud[u] as number;
    const p = this.p;
    const k = this.k;
    let moves = 0;
    let bytes = 0;
    let dollars = 0;
    let seconds = 0;
    let shared = 0;
    const touched = new Map<number, number>();
    for (const v of this.units.members[u] as number[]) {
      const vm = p.vms[v] as (typeof p.vms)[number];
      if (vm.current < 0) continue;
      const wasMoved = a >= 0 && a !== vm.current;
      const isMoved = b !== vm.current;
      const cost = (to: number) =>
        (vm.uniqueBytes / GB) * (p.egress[vm.current * k + to] as number) + p.downtimePenalty;
      if (wasMoved) {
        moves--;
        bytes -= vm.uniqueBytes;
        dollars -= cost(a);
        seconds -= vm.uniqueBytes / (p.wan[vm.current * k + a] as number);
      }
      if (isMoved) {
        moves++;
        bytes += vm.uniqueBytes;
        dollars += cost(b);
        seconds += vm.uniqueBytes / (p.wan[vm.current * k + b] as number);
      }
      if (vm.image >= 0) {
        if (wasMoved) touched.set(vm.image * k + a, (touched.get(vm.image * k + a) ?? 0) - 1);
        if (isMoved) touched.set(vm.image * k + b, (touched.get(vm.image * k + b) ?? 0) + 1);
      }
    }
    for (const [key, change] of touched) {
      const image = Math.floor(key / k);
      const c = key % k;
      const img = p.images[image];
      if (img === undefined || img.presentAt[c] || change === 0) continue;
      const before = this.imageIn[key] as number;
      const after = before + change;
      const sign = before === 0 && after > 0 ? 1 : before > 0 && after === 0 ? -1 : 0;
      if (sign === 0) continue;
      const price = sharedPrice(p, image, c);
      shared += (sign * img.sharedBytes * price) / GB;
      bytes += sign * img.sharedBytes;
      dollars += (sign * img.sharedBytes * price) / GB;
      const source = sharedSource(p, image, c);
      if (source >= 0) seconds += (sign * img.sharedBytes) / (p.wan[source * k + c] as number);
    }
    return { moves, bytes, dollars, seconds, shared };
  }
}

/** Compressed adjacency: start[v]..start[v+1] index `to`/`weight` of v's edges. */
function csr(
  n: number,
  from: Int32Array,
  to: Int32Array,
  rate: Float64Array,
): [Int32Array, Int32Array, Float64Array] {
  const start = new Int32Array(n + 1);
  for (let i = 0; i < from.length; i++)
    start[(from[i] as number) + 1] = (start[(from[i] as number) + 1] as number) + 1;
  for (let v = 0; v < n; v++) start[v + 1] = (start[v + 1] as number) + (start[v] as number);
  const fill = start.slice(0, n);
  const outTo = new Int32Array(from.length);
  const outRate = new Float64Array(from.length);
  for (let i = 0; i < from.length; i++) {
    const v = from[i] as number;
    const at = fill[v] as number;
    outTo[at] = to[i] as number;
    outRate[at] = rate[i] as number;
    fill[v] = at + 1;
  }
  return [start, outTo, outRate];
}
