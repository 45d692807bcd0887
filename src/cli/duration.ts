import { UserError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** "10s", "500ms", "5m", "1.5h", "2d" or a bare number of seconds → seconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  const seconds = m === null ? Number.NaN : Number(m[1]) * (UNITS[m[2] ?? 's'] as number);
  if (!(seconds > 0)) {
    throw new UserError('bad_duration', `${option}: "${text}" is not a duration (try 10s, 500ms, 5m, 1h)`);
  }
  return seconds;
}
