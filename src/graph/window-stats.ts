/**
 * Peak and 95th-percentile rates of one edge over windows. `series` holds only windows with traffic;
 * the others in [first, last] count as zero, so a bursty edge has a low p95 and a high peak.
 */
export function windowRates(
  series: ReadonlyMap<number, readonly [number, number]>,
  windowSeconds: number,
  windowCount: number,
): { peakBytesPerSecond: number; p95BytesPerSecond: number } {
  const values = [...series.values()].map(([bytes]) => bytes).sort((a, b) => a - b);
  const peak = values.length === 0 ? 0 : (values[values.length - 1] as number);
  // Nearest-rank percentile over all windows: rank ceil(0.95 n), 1-based; ranks below the zeros are 0.
  const rank = Math.ceil(0.95 * windowCount);
  const zeros = windowCount - values.length;
  const p95 = rank <= zeros ? 0 : (values[rank - zeros - 1] as number);
  return { peakBytesPerSecond: peak / windowSeconds, p95BytesPerSecond: p95 / windowSeconds };
}
