import { UserError } from '../errors.js';
import { readTextSync } from '../read-text.js';

/** TLS 1.2 with a pre-shared key (Node has no TLS 1.3 PSK); ECDHE first, for forward secrecy. */
export const PSK_CIPHERS = 'ECDHE-PSK-CHACHA20-POLY1305:ECDHE-PSK-AES256-CBC-SHA384:PSK-AES256-GCM-SHA384';
export const PSK_IDENTITY = 'sky-plan-tunnel';

/** The shared key both proxies authenticate with: a file of at least 32 hex digits (openssl rand -hex 32). */
export function readPsk(path: string): Buffer {
  const text = readTextSync(path, 'psk_unreadable', 'the key file').trim();
  if (!/^[0-9a-fA-F]{32,}$/.test(text) || text.length % 2 !== 0)
    throw new UserError(
      'psk_invalid',
      `${path}: expected at least 32 hex digits (make one with: openssl rand -hex 32 > ${path})`,
    );
  return Buffer.from(text, 'hex');
}
