/** Commander accumulator for an option given several times: `--host a --host b` → ['a', 'b']. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}
