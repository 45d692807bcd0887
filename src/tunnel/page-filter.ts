/**
 * A Bloom filter of a store's page hashes: what a source is told on first contact with a large store,
 * 2 bytes a page instead of the 32 of the hash list. A page it wrongly claims (about 1 in 2,000 of those
 * the store lacks) goes across as a reference, is asked for again (NACK) and costs a round trip, never a
 * wrong page. Hand-written rather than a library's: the keys are SHA-256 digests, uniform already, so
 * the bit positions are their own 32-bit words (no hashing again), and the wire form is the bits as they
 * are. Sharded by the first word, so each shard fits a frame and a lookup touches one shard.
 */
export const FILTER_BITS_PER_PAGE = 16;
/** Probes per key: the optimum for 16 bits a key, (1 - e^(-11/16))^11, about 4.6e-4 false positives. */
export const FILTER_PROBES = 11;
/** A shard's bits at most: a frame's payload, with room for its header. */
const SHARD_BYTES = 512 * 1024;

export interface FilterShard {
  index: number;
  count: number;
  entries: number;
  probes: number;
  bits: Buffer;
}

/** The filter's size in bytes for a store of `pages` (frame headers aside). */
export function filterBytes(pages: number): number {
  return Math.ceil((pages * FILTER_BITS_PER_PAGE) / 8);
}

const word = (key: string, i: number): number =>
  ((key.charCodeAt(i) << 24) |
    (key.charCodeAt(i + 1) << 16) |
    (key.charCodeAt(i + 2) << 8) |
    key.charCodeAt(i + 3)) >>>
  0;

/** Kirsch and Mitzenmacher's double hashing: two uniform words make every probe. */
function probe(key: string, probes: number, bits: Buffer, set: boolean): boolean {
  const m = bits.length * 8;
  const a = word(key, 4);
  const b = word(key, 8);
  for (let i = 0; i < probes; i++) {
    const at = (a + i * b) % m;
    const mask = 1 << (at & 7);
    if (set) bits[at >>> 3] = (bits[at >>> 3] as number) | mask;
    else if (((bits[at >>> 3] as number) & mask) === 0) return false;
  }
  return true;
}

/** The shards of a filter holding `keys` (hash keys, see hashKey). */
export function buildFilter(keys: string[]): FilterShard[] {
  const count = Math.max(1, Math.ceil(filterBytes(keys.length) / SHARD_BYTES));
  const entries = new Array<number>(count).fill(0);
  for (const key of keys) {
    const s = word(key, 0) % count;
    entries[s] = (entries[s] as number) + 1;
  }
  const shards = entries.map((n, index) => ({
    index,
    count,
    entries: n,
    probes: FILTER_PROBES,
    bits: Buffer.alloc(Math.max(8, filterBytes(n))),
  }));
  for (const key of keys) probe(key, FILTER_PROBES, (shards[word(key, 0) % count] as FilterShard).bits, true);
  return shards;
}

export class PageFilter {
  readonly entries: number;

  /** `shards` complete and in order (see readShards). */
  constructor(readonly shards: FilterShard[]) {
    this.entries = shards.reduce((s, x) => s + x.entries, 0);
  }

  has(key: string): boolean {
    const shard = this.shards[word(key, 0) % this.shards.length] as FilterShard;
    return probe(key, shard.probes, shard.bits, false);
  }
}

/** A FILTER frame's payload after the epoch: be32 index, be32 count, be32 entries, u8 probes, the bits. */
export function encodeShard(s: FilterShard): Buffer {
  const head = Buffer.alloc(13);
  head.writeUInt32BE(s.index, 0);
  head.writeUInt32BE(s.count, 4);
  head.writeUInt32BE(s.entries, 8);
  head[12] = s.probes;
  return Buffer.concat([head, s.bits]);
}

/** A shard from a FILTER frame, or why it is not one. */
export function decodeShard(payload: Buffer): FilterShard | string {
  if (payload.length < 14) return `a filter shard of ${payload.length} bytes`;
  const index = payload.readUInt32BE(0);
  const count = payload.readUInt32BE(4);
  const probes = payload[12] as number;
  if (count === 0 || index >= count) return `filter shard ${index} of ${count}`;
  if (probes === 0 || probes > 32) return `a filter of ${probes} probes`;
  return { index, count, entries: payload.readUInt32BE(8), probes, bits: Buffer.from(payload.subarray(13)) };
}

/** The shards received, checked to be one whole filter: the filter, or why not. */
export function readShards(shards: FilterShard[]): PageFilter | string {
  const count = shards[0]?.count ?? 0;
  const sorted = [...shards].sort((x, y) => x.index - y.index);
  if (sorted.length !== count || sorted.some((s, i) => s.index !== i || s.count !== count))
    return `a filter of ${count} shards came as ${shards.length}`;
  return new PageFilter(sorted);
}
