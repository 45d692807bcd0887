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
 * The executor's write-ahead record: one JSON line per step, written and fsynced before the step
 * (start) and after it (done/failed), so a run killed at any instant can be resumed.
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

  write(entry: JournalEntry): void {
    writeSync(this.fd, `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
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
