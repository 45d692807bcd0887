import { connect, type TLSSocket } from 'node:tls';
import { PSK_CIPHERS, PSK_IDENTITY } from '../../src/tunnel/psk.js';

/** A TLS connection to a destination proxy on loopback with key `psk`, speaking as a source would. */
export function connectWithKey(port: number, psk: Buffer): TLSSocket {
  return connect({
    host: '127.0.0.1',
    port,
    ciphers: PSK_CIPHERS,
    maxVersion: 'TLSv1.2',
    checkServerIdentity: () => undefined,
    pskCallback: () => ({ psk, identity: PSK_IDENTITY }),
  });
}
