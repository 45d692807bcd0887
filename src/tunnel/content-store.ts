import { hash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { PAGE_SIZE } from './precopy-parser.js';

const HASH = 32;
const RECORD = HASH + PAGE_SIZE;
const SEGMENT_RECORDS = 16384; // 64 MiB segments: the unit of eviction

/** One-shot crypto.hash: a third faster than createHash() on 4 KiB pages. */
export const sha256 = (content: Buffer): Buffer => hash('sha256', content, 'buffer');
/** A hash as a compact map key (32 one-byte characters). */
export const hashKey = (h: Buffer): string => h.toString('latin1');
/** The key of a page's hash, computed straight as a string: no Buffer per page on the hot path. */
export const sha256Key = (content: Buffer): string => hash('sha256', content, 'binary'); // binary = latin1

/**
 * A site's page store, shared by every migration into it: append-only segment files of
 * (SHA-256, 4 KiB content) records, indexed in memory. Crash-safe: a record cut by a crash is dropped
 * at the next start. Every read is checked against its hash, so a damaged page reads as missing (and is
 * asked for again) rather than corrupting a guest. Bounded: when no migration is running, the oldest
 * segments go until the store is under its limit, so eviction never removes a page a running migration
 * was told about. The epoch changes whenever the store starts empty, so a source never trusts an old
 * picture of it.
 */
export class ContentStore {
  private epochValue: string;
  private readonly index = new Map<string, { segment: number; record: number }>();
  private segments: number[] = [];
  private fd = -1;
  private records = 0;
  private active = 0;
  private readonly readers = new Map<number, number>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.segments = readdirSync(dir)
      .flatMap((f) => (/^segment-(\d+)\.dat$/.exec(f) === null ? [] : [Number(f.slice(8, -4))]))
      .sort((a, b) => a - b);
    for (const s of this.segments) this.load(s);
    if (this.index.size === 0 || !existsSync(this.epochFile)) this.newEpoch();
    this.epochValue = readFileSync(this.epochFile, 'utf8').trim();
    this.openSegment(this.segments.at(-1) ?? 0);
  }

  /**
   * The store's identity for the sources' pictures of it. A new one whenever the store starts empty or
   * evicts: a picture from before an eviction would claim pages the store no longer has, each to be
   * asked for again at a round trip's cost, so such a picture is made void instead.
   */
  get epoch(): string {
    return this.epochValue;
  }

  private get epochFile(): string {
    return join(this.dir, 'epoch');
  }

  private newEpoch(): void {
    this.epochValue = randomBytes(16).toString('hex');
    writeFileSync(this.epochFile, this.epochValue);
  }

  get pages(): number {
    return this.index.size;
  }

  /**
   * Where the store's append-only log ends: pages stored later have a higher generation. Together with
   * the epoch it names a picture of the store that a source can be brought up to date from.
   */
  get generation(): number {
    return (this.segments.at(-1) ?? 0) * SEGMENT_RECORDS + this.records;
  }

  /**
   * The hashes of the pages stored from `generation` on (all of them from 0), for a source's handshake,
   * but those in `skip`: sorted, disjoint [start, end) runs of generations the source knows already.
   */
  hashesSince(generation: number, skip: number[] = []): Buffer[] {
    const out: Buffer[] = [];
    let run = 0;
    // The index is in the order pages were stored, so the runs are walked once.
    for (const [key, at] of this.index) {
      const g = at.segment * SEGMENT_RECORDS + at.record;
      if (g < generation) continue;
      while (run < skip.length && (skip[run + 1] as number) <= g) run += 2;
      if (run < skip.length && (skip[run] as number) <= g) continue;
      out.push(Buffer.from(key, 'latin1'));
    }
    return out;
  }

  /** Every page's hash key (see hashKey), for a filter of the whole store. */
  keys(): string[] {
    return [...this.index.keys()];
  }

  has(hash: Buffer): boolean {
    return this.index.has(hashKey(hash));
  }

  /** Stores a page under its own hash (computed here: nothing else is trusted). */
  put(content: Buffer): Buffer {
    const hash = sha256(content);
    const key = hashKey(hash);
    if (this.index.has(key)) return hash;
    if (this.records >= SEGMENT_RECORDS) this.openSegment((this.segments.at(-1) ?? 0) + 1);
    writeSync(this.fd, Buffer.concat([hash, content]), 0, RECORD, this.records * RECORD);
    this.index.set(key, { segment: this.segments.at(-1) as number, record: this.records });
    this.records++;
    return hash;
  }

  /** The content of a page, or undefined when it is missing or damaged on disk. */
  get(hash: Buffer): Buffer | undefined {
    const key = hashKey(hash);
    const at = this.index.get(key);
    if (at === undefined) return undefined;
    const content = Buffer.alloc(PAGE_SIZE);
    readSync(this.reader(at.segment), content, 0, PAGE_SIZE, at.record * RECORD + HASH);
    if (!sha256(content).equals(hash)) {
      this.index.delete(key);
      return undefined;
    }
    return content;
  }

  /** A migration begins: nothing is evicted until every migration has ended. */
  begin(): void {
    this.active++;
  }

  end(): void {
    this.active--;
    fsyncSync(this.fd);
    if (this.active === 0) this.evict();
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    for (const fd of this.readers.values()) closeSync(fd);
    this.readers.clear();
  }

  /**
   * A descriptor to read a segment with: a migration that references a base image reads tens of
   * thousands of pages from old segments, and opening the file for each was most of its cost.
   */
  private reader(segment: number): number {
    if (segment === this.segments.at(-1)) return this.fd;
    const open = this.readers.get(segment);
    if (open !== undefined) return open;
    const fd = openSync(this.path(segment), 'r');
    this.readers.set(segment, fd);
    return fd;
  }

  private evict(): void {
    if (this.segments.length > 1 && this.index.size * RECORD > this.maxBytes) this.newEpoch();
    while (this.segments.length > 1 && this.index.size * RECORD > this.maxBytes) {
      const oldest = this.segments.shift() as number;
      for (const [key, at] of this.index) if (at.segment === oldest) this.index.delete(key);
      const fd = this.readers.get(oldest);
      if (fd !== undefined) closeSync(fd);
      this.readers.delete(oldest);
      unlinkSync(this.path(oldest));
    }
  }

  private path(segment: number): string {
    return join(this.dir, `segment-${segment}.dat`);
  }

  private openSegment(segment: number): void {
    if (this.fd >= 0) {
      fsyncSync(this.fd);
      closeSync(this.fd);
    }
    if (!this.segments.includes(segment)) this.segments.push(segment);
    this.fd = openSync(this.path(segment), existsSync(this.path(segment)) ? 'r+' : 'w+');
    this.records = Math.floor(fstatSync(this.fd).size / RECORD);
    // A record cut short by a crash is dropped.
    ftruncateSync(this.fd, this.records * RECORD);
  }

  /** Indexes a segment at start-up; a record whose content does not match its hash is skipped. */
  private load(segment: number): void {
    const data = readFileSync(this.path(segment));
    for (let r = 0; (r + 1) * RECORD <= data.length; r++) {
      const hash = data.subarray(r * RECORD, r * RECORD + HASH);
      const content = data.subarray(r * RECORD + HASH, (r + 1) * RECORD);
      if (sha256(content).equals(hash)) this.index.set(hashKey(hash), { segment, record: r });
    }
  }
}
