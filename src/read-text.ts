import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { type ErrorCode, UserError } from './errors.js';

/** `what` names the file in the error (`the graph`, `the journal`): a missing file is a user mistake. */
export async function readText(path: string, code: ErrorCode, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw unreadable(path, code, what, err);
  }
}

export function readTextSync(path: string, code: ErrorCode, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw unreadable(path, code, what, err);
  }
}

function unreadable(path: string, code: ErrorCode, what: string, err: unknown): UserError {
  const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
  return new UserError(code, `cannot read ${what} ${path}: ${reason}`);
}
