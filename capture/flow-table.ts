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

export class FlowTable {
  capacity = 0;
  private mask = 0;
  count = 0;
  keys = new Uint32Array(0);
  used = new Uint8Array(0);
  /** Per direction (index slot*2 + dir). */
  packets = new Float64Array(0);
  bytes = new Float64Array(0);
  l3Bytes = new Float64Array(0);
  tcpFlags = new Uint8Array(0);
  /** Per direction: the GROUP its packets went to, if any. */
  group = new Uint8Array(0);
  /** Per direction, since the last drain. */
  windowPackets = new Float64Array(0);
  windowBytes = new Float64Array(0);
  /** Per direction: already counted as a flow of its edge (set by the consumer). */
  reported = new Uint8Array(0);
  /** Per flow. */
  first = new Float64Array(0);
  last = new Float64Array(0);
  macA = new Float64Array(0);
  macB = new Float64Array(0);
  /** Bit 0: macA came from A's own packets; bit 1: macB from B's. */
  macFromSender = new Uint8Array(0);
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
    let slot = this.lastSlot >= 0 && this.sameKey(this.lastSlot, k) ? this.lastSlot : this.find(k);
    if (slot < 0) {
      if (this.count >= this.pairLimit && pk.account === ACCOUNT.ip) {
        k[0] = (k[0] as number) | AGGREGATE;
        k[9] = 0;
        this.foldedPackets++;
        slot = this.find(k);
      }
      if (slot < 0) {
        if (this.full) return false;
        slot = this.insert(k, ts);
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
    const d = slot * 2 + dir;
    const frameBytes = this.payloadOnly ? pk.payloadBytes : pk.frameBytes;
    this.packets[d] = (this.packets[d] as number) + 1;
    this.bytes[d] = (this.bytes[d] as number) + frameBytes;
    this.l3Bytes[d] = (this.l3Bytes[d] as number) + pk.l3Bytes;
    this.tcpFlags[d] = (this.tcpFlags[d] as number) | pk.tcpFlags;
    if (pk.groupDst > (this.group[d] as number)) this.group[d] = pk.groupDst;
    if (this.windowPackets[slot * 2] === 0 && this.windowPackets[slot * 2 + 1] === 0) {
      this.touched[this.touchedCount++] = slot;
    }
    this.windowPackets[d] = (this.windowPackets[d] as number) + 1;
    this.windowBytes[d] = (this.windowBytes[d] as number) + frameBytes;
    if (ts < (this.first[slot] as number)) this.first[slot] = ts;
    if (ts > (this.last[slot] as number)) this.last[slot] = ts;
    // The sender's own MAC is authoritative, so each side's is read from the first packet it sends; a
    // destination MAC may be a router's, so it only fills a gap until then.
    const senderBit = dir === 0 ? 1 : 2;
    const known = this.macFromSender[slot] as number;
    if ((known & senderBit) === 0 && pk.srcMacAt >= 0) {
      if (dir === 0) this.macA[slot] = pk.srcMac;
      else this.macB[slot] = pk.srcMac;
      this.macFromSender[slot] = known | senderBit;
    }
    if (pk.dstMacAt >= 0 && pk.groupDst === GROUP.none) {
      if (dir === 0 && this.macB[slot] === NO_MAC) this.macB[slot] = pk.dstMac;
      else if (dir === 1 && this.macA[slot] === NO_MAC) this.macA[slot] = pk.dstMac;
    }
  }

  /** Resets the per-window counters of every touched flow after the caller has read them. */
  endWindow(): void {
    for (let i = 0; i < this.touchedCount; i++) {
      const s = this.touched[i] as number;
      this.windowPackets[s * 2] = 0;
      this.windowPackets[s * 2 + 1] = 0;
      this.windowBytes[s * 2] = 0;
      this.windowBytes[s * 2 + 1] = 0;
    }
    this.touchedCount = 0;
  }

  /** Empties the table (after a drain), keeping its allocation. */
  clear(): void {
    this.earlyDrains++;
    this.used.fill(0);
    this.packets.fill(0);
    this.bytes.fill(0);
    this.l3Bytes.fill(0);
    this.tcpFlags.fill(0);
    this.group.fill(0);
    this.reported.fill(0);
    this.windowPackets.fill(0);
    this.windowBytes.fill(0);
    this.touchedCount = 0;
    this.count = 0;
    this.lastSlot = -1;
  }

  isAggregate(slot: number): boolean {
    return ((this.keys[slot * KEY_WORDS] as number) & AGGREGATE) !== 0;
  }

  private find(k: Uint32Array): number {
    let s = hashKey(k) & this.mask;
    for (;;) {
      if (this.used[s] === 0) return -1;
      const base = s * KEY_WORDS;
      let i = 0;
      while (i < KEY_WORDS && this.keys[base + i] === k[i]) i++;
      if (i === KEY_WORDS) return s;
      s = (s + 1) & this.mask;
    }
  }

  private insert(k: Uint32Array, ts: number): number {
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    let s = hashKey(k) & this.mask;
    while (this.used[s] !== 0) s = (s + 1) & this.mask;
    this.used[s] = 1;
    this.keys.set(k, s * KEY_WORDS);
    this.first[s] = ts;
    this.last[s] = ts;
    this.macA[s] = NO_MAC;
    this.macB[s] = NO_MAC;
    this.macFromSender[s] = 0;
    this.count++;
    return s;
  }

  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.keys = new Uint32Array(capacity * KEY_WORDS);
    this.used = new Uint8Array(capacity);
    this.packets = new Float64Array(capacity * 2);
    this.bytes = new Float64Array(capacity * 2);
    this.l3Bytes = new Float64Array(capacity * 2);
    this.tcpFlags = new Uint8Array(capacity * 2);
    this.group = new Uint8Array(capacity * 2);
    this.reported = new Uint8Array(capacity * 2);
    this.windowPackets = new Float64Array(capacity * 2);
    this.windowBytes = new Float64Array(capacity * 2);
    this.first = new Float64Array(capacity);
    this.last = new Float64Array(capacity);
    this.macA = new Float64Array(capacity);
    this.macB = new Float64Array(capacity);
    this.macFromSender = new Uint8Array(capacity);
    this.touched = new Int32Array(capacity);
    this.count = 0;
  }

  private grow(): void {
    const old = {
      capacity: this.capacity,
      keys: this.keys,
      used: this.used,
      packets: this.packets,
      bytes: this.bytes,
      l3Bytes: this.l3Bytes,
      tcpFlags: this.tcpFlags,
      group: this.group,
      reported: this.reported,
      windowPackets: this.windowPackets,
      windowBytes: this.windowBytes,
      first: this.first,
      last: this.last,
      macA: this.macA,
      macB: this.macB,
      macFromSender: this.macFromSender,
    };
    this.allocate(this.capacity * 2);
    this.touchedCount = 0;
    this.lastSlot = -1;
    const key = new Uint32Array(KEY_WORDS);
    for (let o = 0; o < old.capacity; o++) {
      if (old.used[o] === 0) continue;
      key.set(old.keys.subarray(o * KEY_WORDS, (o + 1) * KEY_WORDS));
      const s = this.insert(key, old.first[o] as number);
      this.last[s] = old.last[o] as number;
      this.macA[s] = old.macA[o] as number;
      this.macB[s] = old.macB[o] as number;
      this.macFromSender[s] = old.macFromSender[o] as number;
      for (let d = 0; d < 2; d++) {
        const from = o * 2 + d;
        const to = s * 2 + d;
        this.packets[to] = old.packets[from] as number;
        this.bytes[to] = old.bytes[from] as number;
        this.l3Bytes[to] = old.l3Bytes[from] as number;
        this.tcpFlags[to] = old.tcpFlags[from] as number;
        this.group[to] = old.group[from] as number;
        this.reported[to] = old.reported[from] as number;
        this.windowPackets[to] = old.windowPackets[from] as number;
        this.windowBytes[to] = old.windowBytes[from] as number;
      }
      if ((this.windowPackets[s * 2] as number) + (this.windowPackets[s * 2 + 1] as number) > 0) {
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
  return (h ^ (h >>> 16)) >>> 0;
}
