import { UserError } from '../errors.js';

/** An integer option within [min, max], or a usage error naming the option and the range. */
export function integer(text: string, option: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError('bad_number', `${option}: "${text}" must be an integer from ${min} to ${max}`);
  }
  return n;
}
