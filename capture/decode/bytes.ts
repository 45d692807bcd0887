/**
 * Big-endian field reads by plain indexing. Buffer#readUInt16BE and friends validate their arguments on
 * every call, which costs more than the decode itself on the hot path; decoders check bounds themselves.
 */
export function u8(b: Uint8Array, p: number): number {
  return b[p] as number;
}

export function u16(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 8) | (b[p + 1] as number);
}

export function u24(b: Uint8Array, p: number): number {
  return ((b[p] as number) << 16) | ((b[p + 1] as number) << 8) | (b[p + 2] as number);
}

export function u32(b: Uint8Array, p: number): number {
  return (
    (((b[p] as number) << 24) |
      ((b[p + 1] as number) << 16) |
      ((b[p + 2] as number) << 8) |
      (b[p + 3] as number)) >>>
    0
  );
}

/** A 48-bit MAC address as an exact integer. */
export function u48(b: Uint8Array, p: number): number {
  return u16(b, p) * 4294967296 + u32(b, p + 2);
}

export function u32le(b: Uint8Array, p: number): number {
  return (
    (((b[p + 3] as number) << 24) |
      ((b[p + 2] as number) << 16) |
      ((b[p + 1] as number) << 8) |
      (b[p] as number)) >>>
    0
  );
}
