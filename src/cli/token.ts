import { readFileSync } from 'node:fs';
import { UserError } from '../errors.js';

/** A shared secret from a file (first line, trimmed), so it never shows in `ps`. */
export function readToken(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UserError('token_unreadable', `--token-file: cannot read ${path}: ${(err as Error).message}`);
  }
  const token = (text.split('\n')[0] ?? '').trim();
  if (token.length < 16) {
    throw new UserError(
      'weak_token',
      `--token-file: ${path} holds ${token.length} characters on its first line; use at least 16`,
    );
  }
  return token;
}
