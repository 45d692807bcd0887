import { randomBytes } from 'node:crypto';
import type { PageFilter } from './page-filter.js';

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
}
