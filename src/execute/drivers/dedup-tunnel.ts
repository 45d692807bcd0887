import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cloud } from '../../inventory/schema.js';
import { readPsk } from '../../tunnel/psk.js';
import { StorePicture } from '../../tunnel/store-picture.js';
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
 * The dedup tunnels of one run, for any driver: one picture of each destination cloud's store, shared
 * by every proxy into that cloud, so only the run's first handshake there carries the whole store.
 * With a cache directory, the pictures outlive the run: the next run's first handshake carries only
 * what changed at the destination since.
 */
export class DedupRoutes {
  private readonly pictures = new Map<string, StorePicture>();
  /** Cached pictures that could not be used (each is replaced at save). */
  readonly warnings: string[] = [];

  constructor(
    private readonly clouds: Map<string, Cloud>,
    private readonly cacheDir?: string,
  ) {}

  /** Writes every picture of this run to the cache directory (a no-op without one). */
  save(): void {
    if (this.cacheDir === undefined) return;
    mkdirSync(this.cacheDir, { recursive: true });
    for (const [cloud, picture] of this.pictures) {
      const file = this.cacheFile(cloud);
      // Another run may save the same cloud's picture at the same time: either file is a valid picture.
      writeFileSync(`${file}.${process.pid}`, picture.toFile());
      renameSync(`${file}.${process.pid}`, file);
    }
  }

  private cacheFile(cloud: string): string {
    return join(this.cacheDir as string, `${cloud}.picture`);
  }

  private picture(cloud: string): StorePicture {
    let picture = this.pictures.get(cloud);
    if (picture !== undefined) return picture;
    picture = new StorePicture();
    const file = this.cacheDir === undefined ? undefined : this.cacheFile(cloud);
    if (file !== undefined && existsSync(file)) {
      const cached = StorePicture.fromFile(readFileSync(file));
      if (typeof cached === 'string')
        this.warnings.push(`${file}: ${cached}; starting from an empty picture`);
      else picture = cached;
    }
    this.pictures.set(cloud, picture);
    return picture;
  }

  /**
   * A source proxy on 127.0.0.1 (`port`, or a free one) for one migration's memory stream or one disk
   * mirror's NBD connection into `cloud`'s tunnel, which forwards it to `forward` there.
   */
  open(cloud: string, forward: string, protocol: StreamProtocol, port = 0): Promise<DedupTunnel> {
    const settings = this.clouds.get(cloud)?.tunnel;
    if (settings === undefined)
      throw new MigrationFailed(
        `--dedup: cloud ${cloud} has no tunnel settings (dest, pskFile) in the clouds spec`,
      );
    return dedupTunnel(settings, forward, protocol, this.picture(cloud), port);
  }

  /**
   * A move's counters, once the destination proxies have delivered everything: not worth waiting long
   * for (the move itself has succeeded).
   */
  static async report(
    memory: DedupTunnel | undefined,
    disks?: DedupTunnel,
  ): Promise<DedupReport | undefined> {
    const counters = (t: DedupTunnel | undefined) =>
      t === undefined
        ? undefined
        : Promise.race([t.report.catch(() => undefined), sleep(10_000).then(() => undefined)]);
    const [m, d] = await Promise.all([counters(memory), counters(disks)]);
    return m === undefined ? undefined : { ...m, ...(d === undefined ? {} : { disks: d }) };
  }
}

async function dedupTunnel(
  settings: NonNullable<Cloud['tunnel']>,
  forward: string,
  protocol: StreamProtocol,
  picture: StorePicture,
  port: number,
): Promise<DedupTunnel> {
  const [, host = '', destPort = '0'] = /^(.+):(\d+)$/.exec(settings.dest) ?? [];
  let settle: (r: DedupReport) => void = () => undefined;
  let fail: (e: Error) => void = () => undefined;
  const report = new Promise<DedupReport>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  report.catch(() => undefined); // a failed migration is reported by QEMU; this is only for counters
  const server = tunnelSource({
    psk: readPsk(settings.pskFile),
    dest: { host: host.replace(/^\[|\]$/g, ''), port: Number(destPort) },
    forward,
    protocol,
    picture,
    log: (e) => {
      if (e.event === 'done') settle(e as unknown as DedupReport);
      if (e.event === 'failed') fail(new MigrationFailed(String(e.reason)));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { port: (server.address() as { port: number }).port, report, close: () => server.close() };
}
