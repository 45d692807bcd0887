/** Largest |seconds| a JavaScript Date holds (±100,000,000 days around the epoch). */
const DATE_LIMIT_SECONDS = 8.64e12;

/**
 * ISO 8601 UTC text of a capture timestamp. Damaged or hand-made captures carry clocks far outside the
 * Date range; those print as raw seconds instead of failing, since the warning about them needs the text.
 */
export function utcTime(seconds: number): string {
  if (!Number.isFinite(seconds) || Math.abs(seconds) > DATE_LIMIT_SECONDS) return `${seconds} s after 1970`;
  return new Date(seconds * 1000).toISOString();
}
