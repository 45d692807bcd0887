import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { UserError } from '../errors.js';
import { readTextSync } from '../read-text.js';
import type { DedupReport, MigrationStep } from './driver.js';

export type JournalEntry =
  | { type: 'begin'; plan: string; migrations: number }
  | { type: 'start'; vm: string; from: string; to: string }
  | { type: 'step'; vm: string; step: MigrationStep }
  | { type: 'done'; vm: string; from: string; to: string; seconds: number; dedup?: DedupReport }
  | { type: 'failed'; vm: string; from: string; to: string; error: string }
  | { type: 'skipped'; vm: string; reason: string }
  | { type: 'end'; ok: boolean };

/**
 * The executor's write-ahead record: one JSON line per step, so a run killed at any instant can be
 * resumed. What comes before an action (begin, start, a storage step) is fsynced before the action; what
 * records an outcome (done, failed, skipped) is only written: a process killed keeps it in the page
 * cache, and one lost with the machine leaves a start without its end, which a resume settles with the
 * driver as it settles any migration left open.
 */
export class Journal {
  private readonly fd: number;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw new UserError('journal_unwritable', `cannot open the journal ${path}: ${(err as Error).message}`);
    }
  }

  /** Written and on disk before it returns. */
  write(entry: JournalEntry): void {
    this.record(entry);
    fsyncSync(this.fd);
  }

  /** Written and on disk, one fsync for all: a wave's starts. */
  writeAll(entries: JournalEntry[]): void {
    for (const e of entries) this.record(e);
    fsyncSync(this.fd);
  }

  /** Written, for an outcome: on disk with the next write, or when the journal is closed. */
  record(entry: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
  }

  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/** The entries of a journal; a last line cut by a crash mid-write is ignored. */
export function readJournal(path: string): JournalEntry[] {
  const text = readTextSync(path, 'journal_unreadable', 'the journal');
  const lines = text.split('\n');
  const entries: JournalEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      if (i < lines.length - 2)
        throw new UserError('journal_invalid', `${path}:${i + 1}: not a journal entry: ${line.slice(0, 80)}`);
    }
  });
  if (entries[0]?.type !== 'begin')
    throw new UserError('journal_invalid', `${path} does not start with a sky-plan execute entry`);
  return entries;
}
