import { UserError } from '../errors.js';
import { readTextSync } from '../read-text.js';

/** A shared secret from a file (first line, trimmed), so it never shows in `ps`. */
export function readToken(path: string): string {
  const text = readTextSync(path, 'token_unreadable', 'the --token-file');
  const token = (text.split('\n')[0] ?? '').trim();
  if (token.length < 16) {
    throw new UserError(
      'weak_token',
      `--token-file: ${path} holds ${token.length} characters on its first line; use at least 16`,
    );
  }
  return token;
}
