import { randomBytes } from 'node:crypto';
import { decodeShard, encodeShard, type FilterShard, type PageFilter, readShards } from './page-filter.js';

const MAGIC = 'sky-plan store picture 1\n';

/**
 * What a source believes the destination site's store holds: the hashes it was told of and those it sent
 * since, up to a generation of the store's log within one epoch. Kept across sessions, so a session
 * only needs the pages stored since the last one (the handshake then scales with what changed, not
 * with the store). It may be optimistic (the store evicts when idle): a page the destination lacks is
 * asked for again.
 */
export class StorePicture {
  /** Sessions that share this picture: pages one of them sends are known to all. */
  readonly id = randomBytes(8).toString('hex');
  readonly known = new Set<string>();
  /** What a first contact with a large store was told: a filter of the store, not its hashes. */
  filter: PageFilter | null = null;
  epoch = '';
  /** Every page the store held before this point of its log is in `known`. */
  generation = 0;

  /** The store's epoch, from its handshake: another epoch is another store, known from scratch. */
  setEpoch(epoch: string): void {
    if (epoch === this.epoch) return;
    this.known.clear();
    this.filter = null;
    this.generation = 0;
    this.epoch = epoch;
  }

  has(key: string): boolean {
    return this.known.has(key) || this.filter?.has(key) === true;
  }

  add(key: string): void {
    this.known.add(key);
  }

  /** Pages it believes the store holds (those in the filter counted once, as the store had them). */
  get size(): number {
    return this.known.size + (this.filter?.entries ?? 0);
  }

  /** The destination says the picture is complete up to `generation` (at the end of a session). */
  advance(generation: number): void {
    this.generation = Math.max(this.generation, generation);
  }

  /** What the source tells the destination in its HELLO. */
  summary(): { id: string; epoch: string; generation: number } {
    return { id: this.id, epoch: this.epoch, generation: this.generation };
  }

  /** The picture as a file's content, to be read back by a later run (fromFile). */
  toFile(): Buffer {
    const shards = this.filter?.shards ?? [];
    const head = {
      epoch: this.epoch,
      generation: this.generation,
      known: this.known.size,
      shards: shards.length,
    };
    const parts: Buffer[] = [Buffer.from(`${MAGIC}${JSON.stringify(head)}\n`)];
    for (const key of this.known) parts.push(Buffer.from(key, 'latin1'));
    for (const shard of shards) {
      const bytes = encodeShard(shard);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
    return Buffer.concat(parts);
  }

  /** A picture saved by toFile, or why the bytes are not one. */
  static fromFile(bytes: Buffer): StorePicture | string {
    if (!bytes.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return 'not a store picture';
    const end = bytes.indexOf(10, MAGIC.length);
    let head: { epoch?: unknown; generation?: unknown; known?: unknown; shards?: unknown };
    try {
      head = JSON.parse(bytes.subarray(MAGIC.length, end).toString());
    } catch {
      return 'its header is not JSON';
    }
    const { epoch, generation, known, shards } = head;
    if (
      typeof epoch !== 'string' ||
      !Number.isSafeInteger(generation) ||
      !Number.isSafeInteger(known) ||
      !Number.isSafeInteger(shards)
    )
      return 'its header lacks epoch, generation, known or shards';
    const picture = new StorePicture();
    picture.setEpoch(epoch);
    picture.generation = generation as number;
    let at = end + 1;
    if (at + (known as number) * 32 > bytes.length) return 'it is cut short';
    for (let i = 0; i < (known as number); i++, at += 32)
      picture.known.add(bytes.subarray(at, at + 32).toString('latin1'));
    const read: FilterShard[] = [];
    for (let i = 0; i < (shards as number); i++) {
      const length = at + 4 <= bytes.length ? bytes.readUInt32BE(at) : -1;
      if (length < 0 || at + 4 + length > bytes.length) return 'it is cut short';
      const shard = decodeShard(bytes.subarray(at + 4, at + 4 + length));
      if (typeof shard === 'string') return shard;
      read.push(shard);
      at += 4 + length;
    }
    if (read.length > 0) {
      const filter = readShards(read);
      if (typeof filter === 'string') return filter;
      picture.filter = filter;
    }
    return picture;
  }
}
