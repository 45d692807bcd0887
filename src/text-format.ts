/**
 * Name order, as `localeCompare` gives it: one collator shared by every comparison, much cheaper than a
 * `localeCompare` per call when a million edges are sorted.
 */
export const compareNames = new Intl.Collator().compare;

const NUMERIC = /^(-|-?<?\$?\d{1,3}(,\d{3})*(\.\d+)?( [kMGTP]?B)?( \([\d.]+%\))?%?)$/;

/** Aligned plain-text columns; numeric-looking cells are right-aligned. */
export function textTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => NUMERIC.test(r[i] ?? '')));
  const line = (cells: readonly string[]) =>
    indent +
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatBytes(n: number): string {
  // Rates are fractional: three significant digits, as for the larger units.
  if (n < 1000) return `${Number.isInteger(n) ? n : Number(n.toPrecision(3))} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

/** 1234567 → "1,234,567" (toLocaleString would load ICU data, which costs more than a whole small run). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatMoney(n: number): string {
  if (Math.abs(n) < 1e-9) return '$0'; // floating-point noise from subtracting costs
  if (n < 0) return `-${formatMoney(-n)}`;
  // Under a dollar, three significant digits ($0.945, $0.00600); from a dollar on, cents.
  if (n < 1e-4) return '<$0.0001';
  if (n < 1) return `$${n.toFixed(Math.min(12, 2 - Math.floor(Math.log10(n))))}`;
  const [whole = '0', cents = '00'] = n.toFixed(2).split('.');
  return `$${formatCount(Number(whole))}.${cents}`;
}

export function formatPercent(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((100 * part) / whole).toFixed(1)}%`;
}
