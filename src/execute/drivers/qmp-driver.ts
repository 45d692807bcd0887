import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.js';
import type { Cloud, Inventory, InventoryVm } from '../../inventory/schema.js';
import { fillCommand } from '../../shell-quote.js';
import {
  type DedupReport,
  type MigrationDriver,
  MigrationFailed,
  type MigrationProgress,
  type MigrationStep,
} from '../driver.js';
import { QmpClient } from '../qmp-client.js';
import type { Migration } from '../schedule.js';
import { DedupRoutes, type DedupTunnel } from './dedup-tunnel.js';
import { createTargets, type DiskCopy, diskCopies, removeTargets } from './disk-targets.js';
import { freePort } from './free-port.js';
import { type DiskProgress, NbdMirror } from './nbd-mirror.js';

type QmpSettings = NonNullable<Cloud['qmp']>;

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred: number; remaining: number; total: number; mbps: number; 'dirty-pages-rate'?: number };
}

const ACTIVE = new Set(['setup', 'active', 'device', 'pre-switchover', 'wait-unplug', 'cancelling']);
const POLL_MS = 50;
/** A migration whose byte count has not moved for this long is cancelled. */
const STALL_MS = 30_000;
const LAUNCH_WAIT_MS = 30_000;

/**
 * Drives QEMU over QMP: starts the destination QEMU with the cloud's launch command (-incoming defer),
 * `migrate-incoming` there, `migrate` at the source, polls `query-migrate`; on success stops the source
 * and announces the VM from the destination (`announce-self`: RARP from each NIC). A VM with disks first
 * has them mirrored into new images at the destination (nbd-mirror.ts), since no storage is shared.
 */
export class QmpDriver implements MigrationDriver {
  readonly name = 'qmp';

  private readonly vms: Map<string, InventoryVm>;

  constructor(
    private readonly clouds: Map<string, Cloud>,
    /** With --dedup: each migration goes through the destination cloud's dedup tunnel. */
    private readonly routes: DedupRoutes | undefined = undefined,
    /** The VMs' disks and the images' copies per cloud: VMs with disks take them along. */
    private readonly inventory: Inventory = { clouds: [], hosts: [], vms: [], images: [] },
  ) {
    this.vms = new Map(inventory.vms.map((vm) => [vm.name, vm]));
  }

  async preflight(migrations: Migration[]): Promise<string[]> {
    const problems: string[] = [];
    for (const m of migrations) {
      const unset = [m.from, m.to].filter((cloud) => this.clouds.get(cloud)?.qmp === undefined);
      for (const cloud of unset) problems.push(`cloud ${cloud} has no qmp settings (socket, launch)`);
      if (unset.length > 0) continue;
      const status = await QmpClient.status(this.socket(m.from, m.vm));
      if (status !== 'running')
        problems.push(
          `${m.vm} is not running in ${m.from} (${status ?? `no QMP socket ${this.socket(m.from, m.vm)}`})`,
        );
      if ((await QmpClient.status(this.socket(m.to, m.vm))) !== undefined)
        problems.push(`${m.vm} already has a QEMU in ${m.to} (${this.socket(m.to, m.vm)})`);
      if ((this.vms.get(m.vm)?.disks.length ?? 0) > 0 && this.settings(m.to).disk === undefined)
        problems.push(
          `${m.vm} has disks and cloud ${m.to} has no qmp.disk (where a moving VM's disks are created)`,
        );
    }
    return [...new Set(problems)];
  }

  async migrate(
    m: Migration,
    progress: (p: MigrationProgress) => void,
    step: (s: MigrationStep) => void = () => undefined,
  ): Promise<DedupReport | undefined> {
    const source = await QmpClient.connect(this.socket(m.from, m.vm));
    let destination: QmpClient | undefined;
    let tunnel: DedupTunnel | undefined;
    let diskTunnel: DedupTunnel | undefined;
    let mirror: NbdMirror | undefined;
    let copies: DiskCopy[] = [];
    try {
      copies = await this.diskCopies(m);
      if (copies.length > 0) {
        await createTargets(m.vm, copies);
        step('disks-created');
      }
      destination = await this.launch(m, copies);
      const { listen, port, nbdPort } = this.settings(m.to);
      const host = listen.includes(':') ? `[${listen}]` : listen;
      const address = `${host}:${port ?? (await freePort(listen))}`;
      let disk: DiskProgress | undefined;
      if (copies.length > 0) {
        mirror = new NbdMirror(source, destination, copies, this.settings(m.to).mirrorBytesPerSecond);
        step('mirror');
        const nbd = { host: listen, port: nbdPort ?? (await freePort(listen)) };
        // With --dedup, disk blocks the destination site holds cross as hashes, as memory pages do.
        diskTunnel = await this.routes?.open(m.to, `${host}:${nbd.port}`, 'nbd');
        await mirror.start(
          nbd,
          diskTunnel === undefined ? nbd : { host: '127.0.0.1', port: diskTunnel.port },
        );
        await mirror.ready((p) => {
          disk = p;
          progress({ ...IDLE, disk: p });
        });
        // The guest must stop writing before the mirrors end, and the destination must not run before.
        await setPauseBeforeSwitchover(source, true);
      }
      step('memory');
      await destination.execute('migrate-incoming', { uri: `tcp:${address}` });
      if (this.routes !== undefined) {
        tunnel = await this.routes.open(m.to, address, 'precopy');
        // max-bandwidth counts the stream before dedup: the WAN, not QEMU, is the limit.
        await source.execute('migrate-set-parameters', { 'max-bandwidth': 2 ** 40 });
      }
      await source.execute('migrate', {
        uri: tunnel === undefined ? `tcp:${address}` : `tcp:127.0.0.1:${tunnel.port}`,
      });
      const outcome = await follow(
        source,
        (p) => progress(disk === undefined ? p : { ...p, disk }),
        async () => {
          step('switchover');
          await mirror?.complete();
          await source.execute('migrate-continue', { state: 'pre-switchover' });
        },
      );
      if (outcome.status !== 'completed')
        throw new MigrationFailed(
          `${m.vm}: migration ${outcome.status}: ${outcome['error-desc'] ?? 'no reason given'}`,
        );
      // The source says "completed" with the stream's tail still in flight: the destination has it all
      // once it leaves inmigrate.
      const status = await leftIncoming(destination);
      if (status !== 'running') await destination.execute('cont');
      await source.execute('quit').catch(() => undefined); // QEMU may close before it answers
      await destination.execute('announce-self', { initial: 50, max: 550, rounds: 5, step: 100 });
      return await DedupRoutes.report(tunnel, diskTunnel);
    } catch (err) {
      // Back to where it was: the source runs on its own disks, nothing of the move is left behind.
      await mirror?.abort();
      await source.execute('migrate_cancel').catch(() => undefined);
      if (mirror !== undefined) await setPauseBeforeSwitchover(source, false).catch(() => undefined);
      await resumeSource(source).catch(() => undefined);
      await destination?.execute('quit').catch(() => undefined);
      await removeTargets(copies);
      throw err instanceof MigrationFailed ? err : new MigrationFailed(`${m.vm}: ${(err as Error).message}`);
    } finally {
      source.close();
      destination?.close();
      tunnel?.close();
      diskTunnel?.close();
    }
  }

  async reconcile(m: Migration): Promise<'source' | 'destination'> {
    const sourcePath = this.socket(m.from, m.vm);
    const destinationPath = this.socket(m.to, m.vm);
    const copies = await this.diskCopies(m).catch(() => []);
    const source = await QmpClient.connect(sourcePath).catch(() => undefined);
    try {
      if (source !== undefined)
        // A migration QEMU went on with: when it waits before switchover, its ready mirrors are
        // finished and it goes on; with the destination gone, it is cancelled.
        await follow(
          source,
          () => undefined,
          async () => {
            const destination = await QmpClient.connect(destinationPath, 2000).catch(() => undefined);
            try {
              if (destination === undefined) throw new MigrationFailed('no destination');
              await NbdMirror.adopt(source, destination, copies).complete();
              await source.execute('migrate-continue', { state: 'pre-switchover' });
            } catch {
              await source.execute('migrate_cancel');
            } finally {
              destination?.close();
            }
          },
        );
      // A destination paused after the whole stream arrived (-S) is the VM, waiting for `cont`.
      if ((await QmpClient.status(destinationPath)) === 'paused') await cont(destinationPath);
      const destinationStatus = await QmpClient.status(destinationPath);
      if (destinationStatus === 'running') {
        await source?.execute('quit').catch(() => undefined);
        return 'destination';
      }
      if (destinationStatus !== undefined) await quit(destinationPath);
      await removeTargets(copies);
      if (source === undefined)
        throw new UserError('vm_lost', `${m.vm} runs neither in ${m.from} nor in ${m.to}`);
      if (copies.length > 0) {
        await NbdMirror.adopt(source, undefined, copies).abort();
        await setPauseBeforeSwitchover(source, false);
      }
      await resumeSource(source);
      return 'source';
    } finally {
      source?.close();
    }
  }

  private settings(cloud: string): QmpSettings {
    const qmp = this.clouds.get(cloud)?.qmp;
    if (qmp === undefined)
      throw new UserError('no_qmp', `cloud ${cloud} has no qmp settings in the clouds spec`);
    return qmp;
  }

  private socket(cloud: string, vm: string): string {
    // A path, not a shell command: the names go in as they are (the name rule keeps them to safe characters).
    return this.settings(cloud).socket.replace(/\{(vm|cloud)\}/g, (_, key: string) =>
      key === 'vm' ? vm : cloud,
    );
  }

  private async diskCopies(m: Migration): Promise<DiskCopy[]> {
    const vm = this.vms.get(m.vm);
    if (vm === undefined || vm.disks.length === 0) return [];
    const template = this.settings(m.to).disk;
    if (template === undefined)
      throw new MigrationFailed(`${m.vm}: cloud ${m.to} has no qmp.disk for the VM's disks`);
    return diskCopies(this.inventory, vm, m.to, template);
  }

  /** Starts the destination QEMU, detached (it outlives the executor), and connects to it. */
  private async launch(m: Migration, copies: DiskCopy[]): Promise<QmpClient> {
    const socket = this.socket(m.to, m.vm);
    // The launch line is the operator's shell command; what sky-plan puts in it is one quoted word each.
    const command = fillCommand(this.settings(m.to).launch, {
      vm: m.vm,
      cloud: m.to,
      socket,
      disks: copies.map((c) => `${c.device}=${c.target}`),
    });
    // exec: the shell becomes the QEMU process instead of waiting beside it for as long as the VM runs.
    const child = spawn('sh', ['-c', `exec ${command}`], { detached: true, stdio: 'ignore' });
    child.unref();
    let exited: number | null = null;
    child.once('exit', (code) => {
      exited = code ?? -1;
    });
    const deadline = Date.now() + LAUNCH_WAIT_MS;
    while (Date.now() < deadline) {
      if (exited !== null)
        throw new MigrationFailed(
          `${m.vm}: the launch command for ${m.to} exited with ${exited}: ${command}`,
        );
      const client = await QmpClient.connect(socket, 1000).catch(() => undefined);
      if (client !== undefined) return client;
      await sleep(100);
    }
    throw new MigrationFailed(
      `${m.vm}: no QMP socket ${socket} ${LAUNCH_WAIT_MS / 1000} s after launching: ${command}`,
    );
  }
}

/**
 * Polls query-migrate until the migration is over; reports progress, cancels a stalled one. A source
 * paused before switchover (pause-before-switchover) is handed to `beforeSwitchover`, once.
 */
async function follow(
  source: QmpClient,
  progress: (p: MigrationProgress) => void,
  beforeSwitchover?: () => Promise<void>,
): Promise<MigrateInfo> {
  let lastBytes = -1;
  let lastChange = Date.now();
  let switched = false;
  for (;;) {
    const info = await source.execute<MigrateInfo>('query-migrate');
    if (info.status === undefined || !ACTIVE.has(info.status)) return info;
    if (info.status === 'pre-switchover' && beforeSwitchover !== undefined && !switched) {
      switched = true;
      await beforeSwitchover();
      lastChange = Date.now();
      continue;
    }
    const ram = info.ram;
    if (ram !== undefined) {
      progress({
        transferred: ram.transferred,
        remaining: ram.remaining,
        total: ram.total,
        bytesPerSecond: (ram.mbps * 1e6) / 8,
        dirtyPagesPerSecond: ram['dirty-pages-rate'] ?? 0,
      });
      if (ram.transferred !== lastBytes) {
        lastBytes = ram.transferred;
        lastChange = Date.now();
      }
    }
    if (Date.now() - lastChange > STALL_MS && info.status !== 'cancelling') {
      await source.execute('migrate_cancel');
    }
    await sleep(POLL_MS);
  }
}

/** The destination's run state once it is no longer receiving (at most 30 s). */
async function leftIncoming(destination: QmpClient): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { status } = await destination.execute<{ status: string }>('query-status');
    if (status !== 'inmigrate' || Date.now() > deadline) return status;
    await sleep(50);
  }
}

const IDLE: MigrationProgress = {
  transferred: 0,
  remaining: 0,
  total: 0,
  bytesPerSecond: 0,
  dirtyPagesPerSecond: 0,
};

async function setPauseBeforeSwitchover(source: QmpClient, state: boolean): Promise<void> {
  await source.execute('migrate-set-capabilities', {
    capabilities: [{ capability: 'pause-before-switchover', state }],
  });
}

/** A failed or cancelled migration leaves the source paused in some QEMU versions: run it again. */
async function resumeSource(source: QmpClient): Promise<void> {
  const { status } = await source.execute<{ status: string }>('query-status');
  if (status !== 'running') await source.execute('cont');
}

async function cont(path: string): Promise<void> {
  const client = await QmpClient.connect(path, 2000).catch(() => undefined);
  await client?.execute('cont').catch(() => undefined);
  client?.close();
}

async function quit(path: string): Promise<void> {
  const client = await QmpClient.connect(path, 2000).catch(() => undefined);
  await client?.execute('quit').catch(() => undefined);
  client?.close();
}
