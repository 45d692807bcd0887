import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { ContentStore } from '../tunnel/content-store.js';
import { readPsk } from '../tunnel/psk.js';
import { tunnelDest } from '../tunnel/tunnel-dest.js';
import { tunnelSource } from '../tunnel/tunnel-source.js';

interface SourceFlags {
  listen: string;
  dest: string;
  forward: string;
  pskFile: string;
  record?: string;
  protocol: string;
}

interface DestFlags {
  listen: string;
  store: string;
  storeMaxGib: string;
  pskFile: string;
  allowForward: string;
  record?: string;
}

export function registerTunnel(program: Command): void {
  const tunnel = program
    .command('tunnel')
    .summary('deduplicating live-migration tunnel (a proxy pair in the QEMU migration stream)')
    .description(
      "A proxy pair inserted in QEMU's migration stream: pages the destination site already holds, from\n" +
        'any VM or migration, cross the WAN as a SHA-256 reference. The destination rebuilds the\n' +
        'byte-identical stream. Authenticated and encrypted with TLS and a pre-shared key.',
    );
  tunnel
    .command('source')
    .summary('listen where QEMU sends its migration stream')
    .requiredOption('-l, --listen <[host:]port>', 'where QEMU connects (migrate tcp:HOST:PORT)')
    .requiredOption('-d, --dest <host:port>', "the destination site's sky-plan tunnel dest")
    .requiredOption(
      '-f, --forward <host:port>',
      "the destination QEMU's -incoming address, as the dest proxy reaches it",
    )
    .requiredOption('-k, --psk-file <file>', 'pre-shared key, hex (openssl rand -hex 32)')
    .option('--record <dir>', 'keep a copy of each incoming stream there (audits)')
    .option(
      '--protocol <name>',
      "precopy: QEMU's migration stream; nbd: a disk mirror's NBD connection (blockdev-add driver=nbd)",
      'precopy',
    )
    .action(async (flags: SourceFlags) => {
      if (flags.protocol !== 'precopy' && flags.protocol !== 'nbd')
        throw new UserError('bad_protocol', `--protocol: "${flags.protocol}" is not precopy or nbd`);
      const server = tunnelSource({
        protocol: flags.protocol,
        psk: readPsk(flags.pskFile),
        dest: hostPort(flags.dest, '--dest'),
        forward: flags.forward,
        ...(flags.record === undefined ? {} : { record: flags.record }),
        log,
      });
      await listen(server, hostPort(flags.listen, '--listen', '127.0.0.1'));
    });
  tunnel
    .command('dest')
    .summary("rebuild migration streams for this site's QEMUs")
    .requiredOption('-l, --listen <[host:]port>', 'where source proxies connect')
    .requiredOption('-s, --store <dir>', "this site's page store (shared by all migrations)")
    .option('--store-max-gib <n>', 'store size it is trimmed to between migrations', '8')
    .requiredOption('-k, --psk-file <file>', 'pre-shared key, hex (openssl rand -hex 32)')
    .option(
      '--allow-forward <hosts>',
      'hosts streams may be forwarded to (comma-separated)',
      '127.0.0.1,::1,localhost',
    )
    .option('--record <dir>', 'keep a copy of each rebuilt stream there (audits)')
    .action(async (flags: DestFlags) => {
      const gib = Number(flags.storeMaxGib);
      if (!(gib > 0))
        throw new UserError(
          'bad_store_max',
          `--store-max-gib: "${flags.storeMaxGib}" is not a positive number`,
        );
      const server = tunnelDest({
        psk: readPsk(flags.pskFile),
        store: new ContentStore(flags.store, gib * 2 ** 30),
        allowForward: flags.allowForward.split(',').map((h) => h.trim()),
        ...(flags.record === undefined ? {} : { record: flags.record }),
        log,
      });
      await listen(server, hostPort(flags.listen, '--listen', '0.0.0.0'));
    });
}

function log(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

function hostPort(text: string, flag: string, defaultHost?: string): { host: string; port: number } {
  const match = /^(?:(.+):)?(\d+)$/.exec(text);
  const host = (match?.[1] ?? defaultHost)?.replace(/^\[|\]$/g, '');
  const port = Number(match?.[2]);
  if (host === undefined || !(port > 0 && port < 65536))
    throw new UserError(
      'bad_address',
      `${flag}: "${text}" is not ${defaultHost === undefined ? 'host:port' : '[host:]port'}`,
    );
  return { host, port };
}

/** Listens until SIGINT/SIGTERM; a port in use is a clear error, not a stack trace. */
async function listen(server: import('node:net').Server, at: { host: string; port: number }): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UserError('listen_failed', `cannot listen on ${at.host}:${at.port}: ${err.code ?? err.message}`),
      ),
    );
    server.listen(at.port, at.host, () => resolve());
  });
  log({ event: 'listening', address: `${at.host}:${at.port}` });
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => server.close(() => resolve()));
  });
}
