import { spawn } from 'node:child_process';
import { UserError } from '../../errors.js';
import { parseDomainDisks } from '../../inventory/libvirt-domain.js';
import type { Cloud, Host, Inventory } from '../../inventory/schema.js';
import {
  type DedupReport,
  type MigrationDriver,
  MigrationFailed,
  type MigrationProgress,
  type MigrationStep,
} from '../driver.js';
import type { Migration } from '../schedule.js';
import { DedupRoutes, type DedupTunnel } from './dedup-tunnel.js';
import { baseAt } from './disk-targets.js';
import { freePort } from './free-port.js';
import {
  createVolume,
  deleteVolume,
  diskCapacity,
  poolHolding,
  virsh,
  volumeExists,
} from './libvirt-storage.js';
import {
  bandwidthMiB,
  copiesIncrementally,
  type LibvirtEndpoint,
  libvirtEndpoint,
  type StorageCopy,
  type TunnelPorts,
  virshMigrate,
} from './virsh-command.js';

/** A migration whose counters have not moved for this long is aborted (the source keeps running). */
const STALL_MS = 30_000;
const POLL_MS = 500;

/** A destination volume to create before the migration, and the copy mode it belongs to. */
interface Volume {
  pool: string;
  path: string;
  capacity: number;
  format: string;
  backing?: { path: string; format: string };
}

interface StoragePlan {
  copy: StorageCopy;
  volumes: Volume[];
}

/**
 * Runs `virsh migrate --live --persistent --undefinesource` per migration, between the VM's own host
 * and its destination host, disks included: libvirt's own sequence for storage that is not shared (the
 * destination starts an NBD server, the source mirrors each disk into it, then the memory follows).
 * Overlays go incrementally onto the destination's copy of their base image when `images[].at` (or a VM
 * of the image there) says it has one; other disks are copied whole. Progress comes from domjobinfo;
 * a stalled job is aborted with domjobabort. libvirt leaves the source running when a migration fails.
 */
export class LibvirtDriver implements MigrationDriver {
  readonly name = 'libvirt';
  private readonly hosts: Map<string, Host>;

  constructor(
    private readonly clouds: Map<string, Cloud>,
    private readonly inventory: Inventory = { clouds: [], hosts: [], vms: [], images: [] },
    /** With --dedup: memory and disks go through the destination cloud's dedup tunnel. */
    private readonly routes: DedupRoutes | undefined = undefined,
  ) {
    this.hosts = new Map(inventory.hosts.map((h) => [h.name, h]));
  }

  async preflight(migrations: Migration[]): Promise<string[]> {
    const problems: string[] = [];
    for (const m of migrations) {
      let ends: [LibvirtEndpoint, LibvirtEndpoint];
      try {
        ends = this.endpoints(m);
      } catch (err) {
        if (err instanceof UserError) problems.push(err.message);
        else throw err;
        continue;
      }
      const [source, destination] = ends;
      const state = await domstate(source.uri, m.vm);
      if (state !== 'running') {
        problems.push(`${m.vm} is not running at ${source.uri} (virsh domstate: ${state})`);
        continue;
      }
      try {
        for (const volume of (await this.storagePlan(m, source, destination)).volumes)
          if (await volumeExists(destination.uri, volume.pool, volume.path))
            problems.push(
              `${m.vm}: ${volume.path} already exists at ${destination.uri}; the migration would write over it`,
            );
      } catch (err) {
        if (err instanceof MigrationFailed) problems.push(err.message);
        else throw err;
      }
    }
    return [...new Set(problems)];
  }

  async migrate(
    m: Migration,
    progress: (p: MigrationProgress) => void,
    step?: (s: MigrationStep) => void,
  ): Promise<DedupReport | undefined> {
    const [source, destination] = this.endpoints(m);
    const storage = await this.storagePlan(m, source, destination);
    step?.('disks-created');
    const created: string[] = [];
    let tunnels: { memory: DedupTunnel; disks?: DedupTunnel } | undefined;
    try {
      for (const v of storage.volumes) {
        await createVolume(destination.uri, v.pool, v.path, v.capacity, v.format, v.backing);
        created.push(v.path);
      }
      step?.('memory');
      tunnels = this.routes === undefined ? undefined : await this.tunnels(m, destination, storage);
      // Through the tunnel, --bandwidth would count the stream before dedup: the WAN is the limit there.
      const bandwidth = tunnels === undefined ? bandwidthMiB(m.wanBytes, m.seconds) : undefined;
      const ports: TunnelPorts | undefined =
        tunnels === undefined
          ? undefined
          : {
              memory: tunnels.memory.port,
              ...(tunnels.disks === undefined ? {} : { disks: tunnels.disks.port }),
            };
      await this.run(
        m,
        virshMigrate(m.vm, source, destination, {
          storage: storage.copy,
          ...(bandwidth === undefined ? {} : { bandwidthMiB: bandwidth }),
          ...(ports === undefined ? {} : { tunnel: ports }),
        }),
        source.uri,
        progress,
      );
      step?.('switchover');
      return tunnels === undefined ? undefined : await DedupRoutes.report(tunnels.memory, tunnels.disks);
    } catch (err) {
      // A failed migration leaves nothing behind at the destination: a later attempt creates it again.
      if ((await domstate(destination.uri, m.vm)) !== 'running')
        for (const path of created) await deleteVolume(destination.uri, path);
      await resumeIfPaused(source.uri, m.vm);
      throw err;
    } finally {
      tunnels?.memory.close();
      tunnels?.disks?.close();
    }
  }

  /**
   * The tunnel's source proxies for one migration, on ports the destination then listens on at its own
   * address (see TunnelPorts): so the executor runs on the source host, as QEMU connects to 127.0.0.1.
   */
  private async tunnels(
    m: Migration,
    destination: LibvirtEndpoint,
    storage: StoragePlan,
  ): Promise<{ memory: DedupTunnel; disks?: DedupTunnel }> {
    const routes = this.routes as DedupRoutes;
    const listen = destination.listenAddress ?? destination.migrationAddress;
    if (listen === undefined)
      throw new MigrationFailed(
        `${m.vm}: --dedup needs the destination's migrationAddress (where its QEMU listens, and the tunnel delivers)`,
      );
    const at = listen.includes(':') ? `[${listen}]` : listen;
    const memoryPort = await freePort('127.0.0.1');
    const memory = await routes.open(m.to, `${at}:${memoryPort}`, 'precopy', memoryPort);
    if (storage.volumes.length === 0) return { memory };
    try {
      const disksPort = await freePort('127.0.0.1');
      return { memory, disks: await routes.open(m.to, `${at}:${disksPort}`, 'nbd', disksPort) };
    } catch (err) {
      memory.close();
      throw err;
    }
  }

  /**
   * After a crash: a VM running at the destination got there. Otherwise it is resumed at the source, and
   * the destination volumes the interrupted run created are deleted, so the retry can create them again
   * (preflight refused to start over an existing one, so any there now are the run's own).
   */
  async reconcile(m: Migration): Promise<'source' | 'destination'> {
    const [source, destination] = this.endpoints(m);
    if ((await domstate(destination.uri, m.vm)) === 'running') return 'destination';
    await resumeIfPaused(source.uri, m.vm);
    if (!(await defined(destination.uri, m.vm))) {
      const disks = parseDomainDisks(await virsh(source.uri, 'dumpxml', m.vm));
      for (const d of disks) {
        const pool = await poolHolding(destination.uri, d.path);
        if (pool !== undefined && (await volumeExists(destination.uri, pool, d.path)))
          await deleteVolume(destination.uri, d.path);
      }
    }
    return 'source';
  }

  private endpoints(m: Migration): [LibvirtEndpoint, LibvirtEndpoint] {
    return [
      libvirtEndpoint(this.clouds, this.hosts, m.from, m.fromHost),
      libvirtEndpoint(this.clouds, this.hosts, m.to, m.toHost),
    ];
  }

  /** Which disks go and how (see copiesIncrementally), and the destination volumes they need. */
  private async storagePlan(
    m: Migration,
    source: LibvirtEndpoint,
    destination: LibvirtEndpoint,
  ): Promise<StoragePlan> {
    const disks = parseDomainDisks(await virsh(source.uri, 'dumpxml', m.vm));
    const image = this.inventory.vms.find((vm) => vm.name === m.vm)?.image ?? m.image ?? undefined;
    const base = baseAt(this.inventory, image, m.to);
    const incremental = copiesIncrementally(
      disks.map((d) => d.backing),
      base,
    );
    const volumes: Volume[] = [];
    for (const d of disks) {
      const pool = await poolHolding(destination.uri, d.path);
      if (pool === undefined)
        throw new MigrationFailed(
          `${m.vm}: disk ${d.target}: no storage pool at ${destination.uri} holds ${d.path}'s directory (virsh pool-define-as NAME dir --target DIR, then pool-start)`,
        );
      const onBase = incremental && d.backing.length > 0 && base !== undefined;
      volumes.push({
        pool,
        path: d.path,
        capacity: await diskCapacity(source.uri, m.vm, d.target),
        format: onBase ? 'qcow2' : d.format,
        ...(onBase ? { backing: { path: base, format: d.backingFormat ?? 'qcow2' } } : {}),
      });
    }
    return { copy: { mode: incremental ? 'inc' : 'all', disks: disks.map((d) => d.target) }, volumes };
  }

  /** virsh migrate, with progress from domjobinfo and an abort when the job stops moving. */
  private run(
    m: Migration,
    argv: string[],
    sourceUri: string,
    progress: (p: MigrationProgress) => void,
  ): Promise<void> {
    const [command, ...args] = argv as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk.toString().replace(/Migration: \[[^\]]*\]/g, '');
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      let moved = { bytes: -1, at: Date.now() };
      let stalled = false;
      let polling = false;
      const timer = setInterval(async () => {
        if (polling) return;
        polling = true;
        try {
          const stats = jobStats(await virsh(sourceUri, 'domjobinfo', m.vm, '--rawstats').catch(() => ''));
          if (stats === undefined) return;
          // data_* is memory and disks together; disk_* the disks' share.
          const copied = stats.data_processed;
          progress({
            transferred: copied,
            remaining: stats.data_remaining,
            total: stats.data_total,
            bytesPerSecond: stats.memory_bps,
            dirtyPagesPerSecond: stats.memory_dirty_rate,
            disk: {
              copied: stats.disk_processed,
              remaining: stats.disk_remaining,
              bytesPerSecond: stats.disk_bps,
            },
          });
          if (copied !== moved.bytes) moved = { bytes: copied, at: Date.now() };
          else if (Date.now() - moved.at > STALL_MS && !stalled) {
            stalled = true;
            await virsh(sourceUri, 'domjobabort', m.vm).catch(() => undefined);
          }
        } finally {
          polling = false;
        }
      }, POLL_MS);
      child.on('error', (err) => {
        clearInterval(timer);
        reject(new MigrationFailed(`${m.vm}: cannot run virsh: ${err.message}`));
      });
      child.on('close', (code) => {
        clearInterval(timer);
        if (code === 0) resolve();
        else if (stalled)
          reject(new MigrationFailed(`${m.vm}: no progress for ${STALL_MS / 1000} s: aborted (domjobabort)`));
        else reject(new MigrationFailed(`${m.vm}: virsh migrate exited with ${code}: ${output.trim()}`));
      });
    });
  }
}

const STATS = [
  'data_total',
  'data_processed',
  'data_remaining',
  'disk_total',
  'disk_processed',
  'disk_remaining',
  'disk_bps',
  'memory_bps',
  'memory_dirty_rate',
] as const;

/** The counters of `virsh domjobinfo --rawstats`, or undefined when no job runs (yet, or any more). */
function jobStats(text: string): Record<(typeof STATS)[number], number> | undefined {
  const fields = new Map([...text.matchAll(/^(\w+): (\S+)/gm)].map((m) => [m[1], Number(m[2])]));
  if (!fields.has('data_total')) return undefined;
  return Object.fromEntries(STATS.map((k) => [k, fields.get(k) ?? 0])) as Record<
    (typeof STATS)[number],
    number
  >;
}

async function domstate(uri: string, vm: string): Promise<string> {
  try {
    return (await virsh(uri, 'domstate', vm)).trim();
  } catch (err) {
    return (err as Error).message;
  }
}

async function defined(uri: string, vm: string): Promise<boolean> {
  return virsh(uri, 'dominfo', vm).then(
    () => true,
    () => false,
  );
}

async function resumeIfPaused(uri: string, vm: string): Promise<void> {
  if ((await domstate(uri, vm)) === 'paused') await virsh(uri, 'resume', vm).catch(() => undefined);
}
