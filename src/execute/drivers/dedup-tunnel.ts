import type { Cloud } from '../../inventory/schema.js';
import { readPsk } from '../../tunnel/psk.js';
import type { StorePicture } from '../../tunnel/store-picture.js';
import type { StreamProtocol } from '../../tunnel/stream-encoder.js';
import { tunnelSource } from '../../tunnel/tunnel-source.js';
import { type DedupReport, MigrationFailed } from '../driver.js';

export interface DedupTunnel {
  port: number;
  /** The tunnel's counters once the destination has rebuilt the whole stream. */
  report: Promise<DedupReport>;
  close: () => void;
}

/**
 * A source proxy for one migration's memory stream or one disk mirror's NBD connection, on a local
 * port, into the destination cloud's tunnel. Proxies into one cloud share its store's picture, so only
 * the first handshake of a run carries the whole store.
 */
export async function dedupTunnel(
  settings: NonNullable<Cloud['tunnel']>,
  forward: string,
  protocol: StreamProtocol,
  picture: StorePicture,
): Promise<DedupTunnel> {
  const [, host = '', port = '0'] = /^(.+):(\d+)$/.exec(settings.dest) ?? [];
  let settle: (r: DedupReport) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const report = new Promise<DedupReport>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  report.catch(() => undefined); // a failed migration is reported by QEMU; this is only for counters
  const server = tunnelSource({
    psk: readPsk(settings.pskFile),
    dest: { host: host.replace(/^\[|\]$/g, ''), port: Number(port) },
    forward,
    protocol,
    picture,
    log: (e) => {
      if (e.event === 'done') settle(e as unknown as DedupReport);
      if (e.event === 'failed') fail(new MigrationFailed(String(e.reason)));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, report, close: () => server.close() };
}
