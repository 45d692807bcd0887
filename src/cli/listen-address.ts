import type { ListenAddress } from '../collect/collect-server.js';
import { UserError } from '../errors.js';

/** `[host:]port` (host 0.0.0.0 when left out), or a usage error naming the option. */
export function listenAddress(text: string, option: string): ListenAddress {
  const m = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) {
    throw new UserError('bad_listen', `${option}: "${text}" is not [host:]port`);
  }
  return { host: m[1] === undefined || m[1] === '' ? '0.0.0.0' : m[1], port };
}
