import { sharedPrice, sharedSource, unaryCosts } from '../objective.js';
import { GB, type PlanProblem } from '../problem.js';

/** A solver-neutral mixed-integer linear program, written out by each exact backend in its own format. */
export interface Milp {
  names: string[];
  cost: number[];
  binary: boolean[];
  upper: number[];
  rows: { name: string; terms: [number, number][]; lo: number; hi: number }[];
  /** Column of x[v, c] (v * k + c), or -1 where the VM may not run in the cloud. */
  x: Int32Array;
}

/**
 * The placement MILP. Traffic between a VM pair is linearised in transportation form rather than with
 * the naive products y ≥ x[u,a] + x[v,b] − 1 (whose relaxation is 0 whenever x is fractional):
 *   Σ_b y[a,b] = x[u,a],  Σ_a y[a,b] = x[v,b],  cost Σ y[a,b]·(r_uv·E[a,b] + r_vu·E[b,a])
 * which contains the multiway-cut relaxation for uniform prices and stays exact with per-pair prices.
 * Both directions of a pair share one set of variables. Shared image content is bought once per
 * destination: z[i,c] ≥ x[v,c].
 */
export function buildMilp(p: PlanProblem): Milp {
  const k = p.clouds.length;
  const n = p.vms.length;
  const H = p.horizonSeconds / GB;
  const m: Milp = { names: [], cost: [], binary: [], upper: [], rows: [], x: new Int32Array(n * k).fill(-1) };
  const col = (name: string, cost: number, binary: boolean, upper = 1) => {
    m.names.push(name);
    m.cost.push(cost);
    m.binary.push(binary);
    m.upper.push(upper);
    return m.names.length - 1;
  };
  const unary = unaryCosts(p);
  p.vms.forEach((vm, v) => {
    for (let c = 0; c < k; c++)
      if (vm.allowed[c]) m.x[v * k + c] = col(`x${v}_${c}`, unary[v * k + c] as number, true);
    const terms: [number, number][] = [];
    for (let c = 0; c < k; c++)
      if ((m.x[v * k + c] as number) >= 0) terms.push([m.x[v * k + c] as number, 1]);
    m.rows.push({ name: `one${v}`, terms, lo: 1, hi: 1 });
  });
  const xv = (v: number, c: number) => m.x[v * k + c] as number;

  // One set of pair variables per unordered VM pair with traffic: y[a,b] = "u in a and v in b".
  const pairRates = new Map<number, [number, number]>();
  for (let i = 0; i < p.edges.rate.length; i++) {
    const u = p.edges.from[i] as number;
    const v = p.edges.to[i] as number;
    if (u === v) continue;
    const key = Math.min(u, v) * n + Math.max(u, v);
    const entry = pairRates.get(key) ?? [0, 0];
    entry[u < v ? 0 : 1] += p.edges.rate[i] as number;
    pairRates.set(key, entry);
  }
  let e = 0;
  for (const [key, [forward, backward]] of pairRates) {
    const u = Math.floor(key / n);
    const v = key % n;
    if (forward + backward <= 0) continue;
    e++;
    // Σ_b y[a,b] = x[u,a] and Σ_a y[a,b] = x[v,b]: the transportation form (level-1 RLT), whose LP
    // relaxation is tight where the pair's clouds are forced, whatever the price matrix.
    const rowOfU: [number, number][][] = Array.from({ length: k }, () => []);
    const rowOfV: [number, number][][] = Array.from({ length: k }, () => []);
    for (let a = 0; a < k; a++) {
      if (xv(u, a) < 0) continue;
      for (let b = 0; b < k; b++) {
        if (xv(v, b) < 0) continue;
        const price = forward * (p.egress[a * k + b] as number) + backward * (p.egress[b * k + a] as number);
        const y = col(`y${e}_${a}_${b}`, price * H, false);
        (rowOfU[a] as [number, number][]).push([y, 1]);
        (rowOfV[b] as [number, number][]).push([y, 1]);
      }
    }
    for (let a = 0; a < k; a++) {
      if (xv(u, a) >= 0)
        m.rows.push({
          name: `pu${e}_${a}`,
          terms: [...(rowOfU[a] as [number, number][]), [xv(u, a), -1]],
          lo: 0,
          hi: 0,
        });
      if (xv(v, a) >= 0)
        m.rows.push({
          name: `pv${e}_${a}`,
          terms: [...(rowOfV[a] as [number, number][]), [xv(v, a), -1]],
          lo: 0,
          hi: 0,
        });
    }
  }

  // Shared image content, and the migration totals that budgets bound.
  const budgetBytes: [number, number][] = [];
  const budgetDollars: [number, number][] = [];
  const budgetSeconds: [number, number][] = [];
  const movesTerms: [number, number][] = [];
  p.vms.forEach((vm, v) => {
    if (vm.current < 0) return;
    for (let c = 0; c < k; c++) {
      if (c === vm.current || xv(v, c) < 0) continue;
      movesTerms.push([xv(v, c), 1]);
      budgetBytes.push([xv(v, c), vm.uniqueBytes]);
      budgetDollars.push([
        xv(v, c),
        (vm.uniqueBytes / GB) * (p.egress[vm.current * k + c] as number) + p.downtimePenalty,
      ]);
      budgetSeconds.push([xv(v, c), vm.uniqueBytes / (p.wan[vm.current * k + c] as number)]);
    }
  });
  p.images.forEach((img, i) => {
    for (let c = 0; c < k; c++) {
      if (img.presentAt[c]) continue;
      const movers = p.vms.flatMap((vm, v) =>
        vm.image === i && vm.current >= 0 && vm.current !== c && xv(v, c) >= 0 ? [v] : [],
      );
      if (movers.length === 0) continue;
      const price = sharedPrice(p, i, c);
      const z = col(`z${i}_${c}`, (img.sharedBytes / GB) * price, false);
      for (const v of movers)
        m.rows.push({
          name: `img${i}_${c}_${v}`,
          terms: [
            [z, 1],
            [xv(v, c), -1],
          ],
          lo: 0,
          hi: Number.POSITIVE_INFINITY,
        });
      budgetBytes.push([z, img.sharedBytes]);
      budgetDollars.push([z, (img.sharedBytes / GB) * price]);
      const source = sharedSource(p, i, c);
      if (source >= 0) budgetSeconds.push([z, img.sharedBytes / (p.wan[source * k + c] as number)]);
    }
  });

  p.clouds.forEach((cloud, c) => {
    for (const r of ['vcpus', 'memoryGiB', 'vms'] as const) {
      if (!Number.isFinite(cloud.capacity[r])) continue;
      const terms: [number, number][] = [];
      p.vms.forEach((vm, v) => {
        if (xv(v, c) >= 0) terms.push([xv(v, c), r === 'vms' ? 1 : vm[r]]);
      });
      m.rows.push({ name: `cap${c}_${r}`, terms, lo: Number.NEGATIVE_INFINITY, hi: cloud.capacity[r] });
    }
  });
  p.affinity.forEach((group, g) => {
    for (let i = 1; i < group.length; i++) {
      for (let c = 0; c < k; c++) {
        const a = xv(group[0] as number, c);
        const b = xv(group[i] as number, c);
        const terms: [number, number][] = [];
        if (a >= 0) terms.push([a, 1]);
        if (b >= 0) terms.push([b, -1]);
        m.rows.push({ name: `aff${g}_${i}_${c}`, terms, lo: 0, hi: 0 });
      }
    }
  });
  p.antiAffinity.forEach((group, g) => {
    for (let c = 0; c < k; c++) {
      const terms = group.flatMap((v): [number, number][] => (xv(v, c) >= 0 ? [[xv(v, c), 1]] : []));
      if (terms.length > 1)
        m.rows.push({ name: `anti${g}_${c}`, terms, lo: Number.NEGATIVE_INFINITY, hi: 1 });
    }
  });
  if (p.maxMoves !== undefined)
    m.rows.push({ name: 'moves', terms: movesTerms, lo: Number.NEGATIVE_INFINITY, hi: p.maxMoves });
  const b = p.budget;
  if (b?.bytes !== undefined)
    m.rows.push({ name: 'budget_bytes', terms: budgetBytes, lo: Number.NEGATIVE_INFINITY, hi: b.bytes });
  if (b?.dollars !== undefined)
    m.rows.push({
      name: 'budget_dollars',
      terms: budgetDollars,
      lo: Number.NEGATIVE_INFINITY,
      hi: b.dollars,
    });
  if (b?.seconds !== undefined)
    m.rows.push({
      name: 'budget_seconds',
      terms: budgetSeconds,
      lo: Number.NEGATIVE_INFINITY,
      hi: b.seconds,
    });
  return m;
}

/** Reads the placement back from x values (the largest x per VM, robust to tolerances). */
export function placementFromX(p: PlanProblem, m: Milp, value: (col: number) => number): Int32Array {
  const k = p.clouds.length;
  const out = new Int32Array(p.vms.length);
  for (let v = 0; v < p.vms.length; v++) {
    let best = -1;
    let bestValue = -1;
    for (let c = 0; c < k; c++) {
      const col = m.x[v * k + c] as number;
      if (col >= 0 && value(col) > bestValue) {
        best = c;
        bestValue = value(col);
      }
    }
    out[v] = best;
  }
  return out;
}
