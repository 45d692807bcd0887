import { UserError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 };

/** "64M", "512K", "1G" (binary units, optional "iB"/"B") or a bare number of bytes → bytes. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const bytes =
    m === null ? Number.NaN : Math.round(Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] as number));
  if (!(bytes > 0)) {
    throw new UserError('bad_size', `${option}: "${text}" is not a size (try 64M, 512K)`);
  }
  return bytes;
}
