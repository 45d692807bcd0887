/**
 * A dense lookup table from a small integer key (EtherType, port, protocol number) to a decoder. An array,
 * not an object: V8 indexes it directly instead of hashing the key for every frame.
 */
export function dispatchTable<T>(
  size: number,
  entries: readonly (readonly [number, T])[],
): (T | undefined)[] {
  const table = new Array<T | undefined>(size).fill(undefined);
  for (const [key, value] of entries) table[key] = value;
  return table;
}
