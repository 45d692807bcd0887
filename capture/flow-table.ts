import { ACCOUNT, GROUP, NO_MAC, type Packet } from './decode/packet.js';

/**
 * Canonical bidirectional flow records in flat typed arrays (open addressing, linear probing).
 * Key: kind (IP version | protocol << 8 | aggregate << 24), endpoint A (4 words), endpoint B (4 words),
 * portA << 16 | portB, VLAN, VNI. A is the lower (address, port), so A→B and B→A share one record;
 * direction 0 is A→B. Non-IP frames use version 0, the EtherType as protocol and MACs as addresses.
 * Growing and rehashing allocate, amortised; recording a packet does not.
 */
export const KEY_WORDS = 12;
const NONE32 = 0xffffffff;
const AGGREGATE = 1 << 24;
const INITIAL_CAPACITY = 1 << 12;

export interface FlowTableOptions {
  /** Flow records held at once; beyond it the table is drained early (see `full`). */
  maxFlows: number;
  /** Share of maxFlows after which new 5-tuples are folded into endpoint-pair records. */
  pairModeAt: number;
  /**
   * What a byte count counts: `wire`, frames as they crossed the wire (headers, acknowledgements and
   * retransmissions included: what a link carries and bills); `payload`, transport payload only.
   */
  count: 'wire' | 'payload';
}

export const FLOW_TABLE_DEFAULTS: FlowTableOptions = { maxFlows: 1 << 18, pairModeAt: 0.75, count: 'wire' };

/**
 * Per-slot numbers, interleaved so that one packet touches two adjacent cache lines, not one per counter:
 * with no flow locality (every packet of another flow than the last) the table is memory-bound.
 * Per-direction fields take two entries (A→B, then B→A).
 */
const PACKETS = 0;
const BYTES = 2;
const L3_BYTES = 4;
/** Since the last window ended. */
const WINDOW_PACKETS = 6;
const WINDOW_BYTES = 8;
const FIRST = 10;
const LAST = 11;
const MAC_A = 12;
const MAC_B = 13;
/**
 * Bits of the small per-slot fields, packed in one number beside the counters (one fewer cache line):
 * TCP flags of each direction (8 bits each), the GROUP each direction's packets went to (2 bits each),
 * whether each direction was counted as a flow of its edge yet (set by the consumer), and whether each
 * side's MAC came from its own packets.
 */
const FLAGS = 14;
const NUMBERS = 15;
const GROUP_SHIFT = 16;
const REPORTED_SHIFT = 20;
const MAC_FROM_SENDER_SHIFT = 22;

export class FlowTable {
  capacity = 0;
  private mask = 0;
  count = 0;
  keys = new Uint32Array(0);
  /**
   * Each slot's key hash, never 0 (0 marks a free slot): probes compare it before the 12 key words, and
   * growing does not rehash.
   */
  private hashes = new Uint32Array(0);
  private numbers = new Float64Array(0);
  /** Slots with packets since the last drain, in first-touch order. */
  touched = new Int32Array(0);
  touchedCount = 0;

  /** Packets folded into endpoint-pair records because the table was near its limit. */
  foldedPackets = 0;
  /** Times the table filled and was drained early. */
  earlyDrains = 0;

  private readonly scratch = new Uint32Array(KEY_WORDS);
  /** Slot of the previous packet's flow (-1 after the slots moved). */
  private lastSlot = -1;
  private readonly pairLimit: number;

  private readonly payloadOnly: boolean;

  constructor(readonly options: FlowTableOptions = FLOW_TABLE_DEFAULTS) {
    this.pairLimit = Math.floor(options.maxFlows * options.pairModeAt);
    this.payloadOnly = options.count === 'payload';
    this.allocate(INITIAL_CAPACITY);
  }

  get full(): boolean {
    return this.count >= this.options.maxFlows;
  }

  isUsed(slot: number): boolean {
    return this.hashes[slot] !== 0;
  }
  packets(slot: number, dir: number): number {
    return this.numbers[slot * NUMBERS + PACKETS + dir] as number;
  }
  bytes(slot: number, dir: number): number {
    return this.numbers[slot * NUMBERS + BYTES + dir] as number;
  }
  l3Bytes(slot: number, dir: number): number {
    return this.numbers[slot * NUMBERS + L3_BYTES + dir] as number;
  }
  windowPackets(slot: number, dir: number): number {
    return this.numbers[slot * NUMBERS + WINDOW_PACKETS + dir] as number;
  }
  windowBytes(slot: number, dir: number): number {
    return this.numbers[slot * NUMBERS + WINDOW_BYTES + dir] as number;
  }
  first(slot: number): number {
    return this.numbers[slot * NUMBERS + FIRST] as number;
  }
  last(slot: number): number {
    return this.numbers[slot * NUMBERS + LAST] as number;
  }
  /** MAC of endpoint A (side 0) or B (side 1); NO_MAC when unknown. */
  mac(slot: number, side: number): number {
    return this.numbers[slot * NUMBERS + MAC_A + side] as number;
  }
  private flags(slot: number): number {
    return this.numbers[slot * NUMBERS + FLAGS] as number;
  }
  tcpFlags(slot: number, dir: number): number {
    return (this.flags(slot) >>> (8 * dir)) & 0xff;
  }
  group(slot: number, dir: number): number {
    return (this.flags(slot) >>> (GROUP_SHIFT + 2 * dir)) & 3;
  }
  reported(slot: number, dir: number): boolean {
    return ((this.flags(slot) >>> (REPORTED_SHIFT + dir)) & 1) !== 0;
  }
  markReported(slot: number, dir: number): void {
    this.numbers[slot * NUMBERS + FLAGS] = this.flags(slot) | (1 << (REPORTED_SHIFT + dir));
  }

  /**
   * Adds the decoded packet; returns false when the table is full and must be drained (then cleared)
   * before the packet can be added. The caller decides window boundaries.
   */
  add(pk: Packet, ts: number): boolean {
    const k = this.scratch;
    let dir = 0;
    let portA: number;
    let portB: number;
    if (pk.account === ACCOUNT.ip) {
      dir = compareEndpoints(pk.src, pk.sport, pk.dst, pk.dport, pk.ipVersion === 4 ? 1 : 4);
      const a = dir === 0 ? pk.src : pk.dst;
      const b = dir === 0 ? pk.dst : pk.src;
      k[0] = pk.ipVersion | (pk.proto << 8);
      for (let i = 0; i < 4; i++) {
        k[1 + i] = a[i] as number;
        k[5 + i] = b[i] as number;
      }
      portA = dir === 0 ? pk.sport : pk.dport;
      portB = dir === 0 ? pk.dport : pk.sport;
    } else {
      const src = pk.srcMac === NO_MAC ? 0 : pk.srcMac;
      const dst = pk.dstMac === NO_MAC ? 0 : pk.dstMac;
      dir = src <= dst ? 0 : 1;
      const a = dir === 0 ? src : dst;
      const b = dir === 0 ? dst : src;
      k[0] = (pk.etherType & 0xffff) << 8;
      k[1] = Math.floor(a / 4294967296);
      k[2] = a >>> 0;
      k[3] = 0;
      k[4] = 0;
      k[5] = Math.floor(b / 4294967296);
      k[6] = b >>> 0;
      k[7] = 0;
      k[8] = 0;
      portA = 0;
      portB = 0;
    }
    k[9] = ((portA << 16) | portB) >>> 0;
    k[10] = pk.vlan < 0 ? NONE32 : pk.vlan;
    k[11] = pk.vni < 0 ? NONE32 : pk.vni;

    // Packets come in bursts of one flow: try the previous packet's flow before hashing.
    let slot = -1;
    if (this.lastSlot >= 0 && this.sameKey(this.lastSlot, k)) slot = this.lastSlot;
    else {
      let h = hashKey(k);
      slot = this.find(k, h);
      if (slot < 0) {
        if (this.count >= this.pairLimit && pk.account === ACCOUNT.ip) {
          k[0] = (k[0] as number) | AGGREGATE;
          k[9] = 0;
          this.foldedPackets++;
          h = hashKey(k);
          slot = this.find(k, h);
        }
        if (slot < 0) {
          if (this.full) return false;
          slot = this.insert(k, h, ts);
        }
      }
    }
    this.record(slot, dir, pk, ts);
    this.lastSlot = slot;
    return true;
  }

  private sameKey(slot: number, k: Uint32Array): boolean {
    const base = slot * KEY_WORDS;
    const keys = this.keys;
    return (
      keys[base] === k[0] &&
      keys[base + 1] === k[1] &&
      keys[base + 5] === k[5] &&
      keys[base + 9] === k[9] &&
      keys[base + 2] === k[2] &&
      keys[base + 3] === k[3] &&
      keys[base + 4] === k[4] &&
      keys[base + 6] === k[6] &&
      keys[base + 7] === k[7] &&
      keys[base + 8] === k[8] &&
      keys[base + 10] === k[10] &&
      keys[base + 11] === k[11]
    );
  }

  private record(slot: number, dir: number, pk: Packet, ts: number): void {
    const n = this.numbers;
    const at = slot * NUMBERS;
    const frameBytes = this.payloadOnly ? pk.payloadBytes : pk.frameBytes;
    n[at + PACKETS + dir] = (n[at + PACKETS + dir] as number) + 1;
    n[at + BYTES + dir] = (n[at + BYTES + dir] as number) + frameBytes;
    n[at + L3_BYTES + dir] = (n[at + L3_BYTES + dir] as number) + pk.l3Bytes;
    let flags = (n[at + FLAGS] as number) | (pk.tcpFlags << (8 * dir));
    const groupShift = GROUP_SHIFT + 2 * dir;
    if (pk.groupDst > ((flags >>> groupShift) & 3))
      flags = (flags & ~(3 << groupShift)) | (pk.groupDst << groupShift);
    if (n[at + WINDOW_PACKETS] === 0 && n[at + WINDOW_PACKETS + 1] === 0) {
      this.touched[this.touchedCount++] = slot;
    }
    n[at + WINDOW_PACKETS + dir] = (n[at + WINDOW_PACKETS + dir] as number) + 1;
    n[at + WINDOW_BYTES + dir] = (n[at + WINDOW_BYTES + dir] as number) + frameBytes;
    if (ts < (n[at + FIRST] as number)) n[at + FIRST] = ts;
    if (ts > (n[at + LAST] as number)) n[at + LAST] = ts;
    // The sender's own MAC is authoritative, so each side's is read from the first packet it sends; a
    // destination MAC may be a router's, so it only fills a gap until then.
    const senderBit = 1 << (MAC_FROM_SENDER_SHIFT + dir);
    if ((flags & senderBit) === 0 && pk.srcMacAt >= 0) {
      n[at + MAC_A + dir] = pk.srcMac;
      flags |= senderBit;
    }
    if (pk.dstMacAt >= 0 && pk.groupDst === GROUP.none && n[at + MAC_A + 1 - dir] === NO_MAC) {
      n[at + MAC_A + 1 - dir] = pk.dstMac;
    }
    n[at + FLAGS] = flags;
  }

  /** Resets the per-window counters of every touched flow after the caller has read them. */
  endWindow(): void {
    const n = this.numbers;
    for (let i = 0; i < this.touchedCount; i++) {
      const at = (this.touched[i] as number) * NUMBERS;
      n[at + WINDOW_PACKETS] = 0;
      n[at + WINDOW_PACKETS + 1] = 0;
      n[at + WINDOW_BYTES] = 0;
      n[at + WINDOW_BYTES + 1] = 0;
    }
    this.touchedCount = 0;
  }

  /** Empties the table (after a drain), keeping its allocation. */
  clear(): void {
    this.earlyDrains++;
    this.numbers.fill(0);
    this.hashes.fill(0);
    this.touchedCount = 0;
    this.count = 0;
    this.lastSlot = -1;
  }

  isAggregate(slot: number): boolean {
    return ((this.keys[slot * KEY_WORDS] as number) & AGGREGATE) !== 0;
  }

  private find(k: Uint32Array, h: number): number {
    let s = h & this.mask;
    for (;;) {
      const at = this.hashes[s] as number;
      if (at === 0) return -1;
      if (at === h && this.sameKey(s, k)) return s;
      s = (s + 1) & this.mask;
    }
  }

  private insert(k: Uint32Array, h: number, ts: number): number {
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    const s = this.freeSlot(h);
    this.hashes[s] = h;
    this.keys.set(k, s * KEY_WORDS);
    const at = s * NUMBERS;
    this.numbers[at + FIRST] = ts;
    this.numbers[at + LAST] = ts;
    this.numbers[at + MAC_A] = NO_MAC;
    this.numbers[at + MAC_B] = NO_MAC;
    this.count++;
    return s;
  }

  private freeSlot(h: number): number {
    let s = h & this.mask;
    while (this.hashes[s] !== 0) s = (s + 1) & this.mask;
    return s;
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.hashes = new Uint32Array(capacity);
    this.numbers = new Float64Array(capacity * NUMBERS);
    this.touched = new Int32Array(capacity);
    this.count = 0;
  }

  private grow(): void {
    const old = {
      capacity: this.capacity,
      keys: this.keys,
      hashes: this.hashes,
      numbers: this.numbers,
    };
    this.allocate(this.capacity * 2);
    this.touchedCount = 0;
    this.lastSlot = -1;
    for (let o = 0; o < old.capacity; o++) {
      const h = old.hashes[o] as number;
      if (h === 0) continue;
      const s = this.freeSlot(h);
      this.hashes[s] = h;
      this.keys.set(old.keys.subarray(o * KEY_WORDS, (o + 1) * KEY_WORDS), s * KEY_WORDS);
      this.numbers.set(old.numbers.subarray(o * NUMBERS, (o + 1) * NUMBERS), s * NUMBERS);
      this.count++;
      const at = s * NUMBERS;
      if (
        (this.numbers[at + WINDOW_PACKETS] as number) + (this.numbers[at + WINDOW_PACKETS + 1] as number) >
        0
      ) {
        this.touched[this.touchedCount++] = s;
      }
    }
  }
}

/** 0 when (a, portA) sorts before (b, portB), else 1. */
function compareEndpoints(
  a: Uint32Array,
  portA: number,
  b: Uint32Array,
  portB: number,
  words: number,
): number {
  for (let i = 0; i < words; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? 0 : 1;
  }
  return portA <= portB ? 0 : 1;
}

/** FNV-1a-style mixing of the 12 key words, unrolled (this runs for every packet). */
function hashKey(k: Uint32Array): number {
  let h = 0x811c9dc5;
  h = Math.imul(h ^ (k[0] as number), 0x01000193);
  h = Math.imul(h ^ (k[1] as number), 0x01000193);
  h = Math.imul(h ^ (k[2] as number), 0x01000193);
  h = Math.imul(h ^ (k[3] as number), 0x01000193);
  h = Math.imul(h ^ (k[4] as number), 0x01000193);
  h = Math.imul(h ^ (k[5] as number), 0x01000193);
  h = Math.imul(h ^ (k[6] as number), 0x01000193);
  h = Math.imul(h ^ (k[7] as number), 0x01000193);
  h = Math.imul(h ^ (k[8] as number), 0x01000193);
  h = Math.imul(h ^ (k[9] as number), 0x01000193);
  h = Math.imul(h ^ (k[10] as number), 0x01000193);
  h = Math.imul(h ^ (k[11] as number), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  // 0 marks a free slot.
  return (h ^ (h >>> 16)) >>> 0 || 1;
}
