/**
 * Content sketches: the k smallest distinct page hashes of a VM's memory or a disk image (bottom-k
 * MinHash). Two sketches estimate how much content two VMs share, without comparing every page.
 */
export const SKETCH_SCHEMA = 'sky-plan/sketch@1';
export const SKETCH_K = 1024;

export interface ContentSketch {
  schema: typeof SKETCH_SCHEMA;
  name: string;
  source: string;
  /** Pages read, and how many of them were all zero (left out of the sketch). */
  pages: number;
  zeroPages: number;
  k: number;
  /** The k smallest distinct page hashes (first 8 bytes of SHA-256, hex), ascending. */
  hashes: string[];
}

/** Keeps the k smallest distinct values seen, in order; cheap once the threshold settles. */
export class BottomK {
  private readonly values: string[] = [];

  constructor(private readonly k: number) {}

  add(value: string): void {
    const v = this.values;
    if (v.length === this.k && value >= (v[v.length - 1] as string)) return;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((v[mid] as string) < value) lo = mid + 1;
      else hi = mid;
    }
    if (v[lo] === value) return;
    v.splice(lo, 0, value);
    if (v.length > this.k) v.pop();
  }

  result(): string[] {
    return [...this.values];
  }
}

/**
 * The share of `a`'s content also found in `others` (containment), estimated on the k smallest hashes
 * of their union: of those that are `a`'s, the fraction the others have too.
 */
export function containment(a: ContentSketch, others: ContentSketch[]): number {
  const k = Math.min(a.k, ...others.map((o) => o.k));
  const inOthers = new Set(others.flatMap((o) => o.hashes));
  const inA = new Set(a.hashes);
  const union = new BottomK(k);
  for (const h of inA) union.add(h);
  for (const h of inOthers) union.add(h);
  let mine = 0;
  let shared = 0;
  for (const h of union.result()) {
    if (!inA.has(h)) continue;
    mine++;
    if (inOthers.has(h)) shared++;
  }
  return mine === 0 ? 0 : shared / mine;
}

/** Similarity of an image's VMs: the mean share of each one's content the others also hold. */
export function measuredSimilarity(members: ContentSketch[]): number {
  if (members.length < 2) return 0;
  const shares = members.map((m, i) =>
    containment(
      m,
      members.filter((_, j) => j !== i),
    ),
  );
  return shares.reduce((s, x) => s + x, 0) / shares.length;
}
