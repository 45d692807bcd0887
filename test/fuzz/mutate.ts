/** Byte-level mutations, as coverage-guided fuzzers use them: each call returns a new buffer. */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0xffffffff];

export function mutate(input: Buffer, other: Buffer, rng: () => number): Buffer {
  const pick = (n: number) => Math.floor(rng() * n);
  let out = Buffer.from(input);
  const rounds = 1 + pick(4);
  for (let r = 0; r < rounds; r++) {
    const at = pick(Math.max(1, out.length));
    switch (pick(7)) {
      case 0: // flip a bit
        if (out.length > 0) out[at] = (out[at] as number) ^ (1 << pick(8));
        break;
      case 1: // a random byte
        if (out.length > 0) out[at] = pick(256);
        break;
      case 2: {
        // an interesting 16- or 32-bit value, either byte order
        const value = INTERESTING[pick(INTERESTING.length)] as number;
        const width = rng() < 0.5 ? 2 : 4;
        if (at + width > out.length) break;
        if (width === 2) out[rng() < 0.5 ? 'writeUInt16BE' : 'writeUInt16LE'](value & 0xffff, at);
        else out[rng() < 0.5 ? 'writeUInt32BE' : 'writeUInt32LE'](value >>> 0, at);
        break;
      }
      case 3: // cut the end
        out = out.subarray(0, at);
        break;
      case 4: {
        // delete a run
        const n = 1 + pick(16);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + n)]);
        break;
      }
      case 5: {
        // duplicate a run
        const n = 1 + pick(64);
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + n), out.subarray(at)]);
        break;
      }
      default: {
        // splice in a piece of another input
        const from = pick(Math.max(1, other.length));
        const piece = other.subarray(from, from + 1 + pick(128));
        out = Buffer.concat([out.subarray(0, at), piece, out.subarray(at)]);
      }
    }
  }
  // Inputs stay small: the readers' size bounds are tested elsewhere, here it is their logic.
  return out.length > 1 << 18 ? out.subarray(0, 1 << 18) : out;
}

const VALUES: unknown[] = [
  0,
  -1,
  1e300,
  -1e300,
  2 ** 53,
  0.5,
  '',
  'x'.repeat(300),
  null,
  true,
  [],
  {},
  [[]],
  'a;$(id)\n',
];

/**
 * Structure-aware: a JSON document with one value replaced, removed or duplicated, so the input gets past
 * JSON.parse to the checks behind it (byte mutations rarely do). Falls back to bytes for non-JSON.
 */
export function mutateJson(input: Buffer, other: Buffer, rng: () => number): Buffer {
  let doc: unknown;
  try {
    doc = JSON.parse(input.toString('utf8'));
  } catch {
    return mutate(input, other, rng);
  }
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 12 || slots.length > 5000 || v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      slots.push([v as Record<string, unknown>, Array.isArray(v) ? Number(k) : k]);
      walk(child, depth + 1);
    }
  };
  walk(doc, 0);
  const rounds = 1 + Math.floor(rng() * 3);
  for (let r = 0; r < rounds && slots.length > 0; r++) {
    const [holder, key] = slots[Math.floor(rng() * slots.length)] as (typeof slots)[number];
    const choice = rng();
    const h = holder as Record<string | number, unknown>;
    if (choice < 0.6) h[key] = VALUES[Math.floor(rng() * VALUES.length)];
    else if (choice < 0.8) {
      if (Array.isArray(holder)) holder.splice(key as number, 1);
      else delete h[key];
    } else if (Array.isArray(holder)) holder.push(structuredClone(holder[key as number]));
    else h[`${String(key)}2`] = structuredClone(h[key]);
  }
  return Buffer.from(JSON.stringify(doc));
}
