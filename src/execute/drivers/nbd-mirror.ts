import { setTimeout as sleep } from 'node:timers/promises';
import { MigrationFailed } from '../driver.js';
import type { QmpClient } from '../qmp-client.js';
import type { DiskCopy } from './disk-targets.js';

/** Disk figures beside the memory ones in a migration's progress. */
export interface DiskProgress {
  copied: number;
  remaining: number;
  bytesPerSecond: number;
}

interface BlockJob {
  device: string;
  len: number;
  offset: number;
  ready: boolean;
  status?: string;
  error?: string;
}

interface Endpoint {
  host: string;
  port: number;
}

interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { 'node-name'?: string; file?: string };
}

const POLL_MS = 50;
/** A mirror whose copied bytes have not moved for this long, before it is ready, has failed. */
const STALL_MS = 30_000;

const exportId = (device: string) => `sky-export-${device}`;
const clientNode = (device: string) => `sky-nbd-${device}`;
const jobId = (device: string) => `sky-mirror-${device}`;

/**
 * Non-shared storage migration as libvirt does it: the destination QEMU exports its new, empty disks over
 * NBD; the source mirrors each disk into them (blockdev-mirror) while the guest runs and writes. Once every
 * mirror is ready, memory migration may start; with the source paused before switchover, the mirrors are
 * completed (block-job-cancel of a ready job leaves the target consistent) and only then does the
 * destination get the device state and run.
 */
export class NbdMirror {
  private readonly started: string[] = [];
  private serving = false;

  constructor(
    private readonly source: QmpClient,
    /** Undefined when only the source's side is left to clean up (the destination is gone). */
    private readonly destination: QmpClient | undefined,
    private readonly copies: DiskCopy[],
    private readonly bytesPerSecond?: number,
  ) {}

  /** The mirrors an executor that died had started, found by their names, to complete or abort them. */
  static adopt(source: QmpClient, destination: QmpClient | undefined, copies: DiskCopy[]): NbdMirror {
    const mirror = new NbdMirror(source, destination, copies);
    mirror.started.push(...copies.map((c) => c.device));
    mirror.serving = destination !== undefined;
    return mirror;
  }

  /**
   * Exports the destination's disks at `serve` and starts one mirror per disk into them, connecting to
   * `connect` (the same address, or a dedup tunnel's source proxy in front of it).
   */
  async start(serve: Endpoint, connect: Endpoint): Promise<void> {
    const destination = this.destination;
    if (destination === undefined) throw new MigrationFailed('no destination to mirror into');
    await destination.execute('nbd-server-start', {
      addr: { type: 'inet', data: { host: serve.host, port: String(serve.port) } },
    });
    this.serving = true;
    for (const c of this.copies) {
      const target = await nodeOf(destination, c.device, c.target);
      await destination.execute('block-export-add', {
        type: 'nbd',
        id: exportId(c.device),
        'node-name': target,
        name: c.device,
        writable: true,
      });
    }
    for (const c of this.copies) {
      const node = await nodeOf(this.source, c.device, c.source);
      await this.source.execute('blockdev-add', {
        driver: 'nbd',
        'node-name': clientNode(c.device),
        server: { type: 'inet', host: connect.host, port: String(connect.port) },
        export: c.device,
      });
      this.started.push(c.device);
      await this.source.execute('blockdev-mirror', {
        'job-id': jobId(c.device),
        device: node,
        target: clientNode(c.device),
        sync: c.sync,
        'auto-dismiss': false,
        ...(this.bytesPerSecond === undefined ? {} : { speed: Math.round(this.bytesPerSecond) }),
      });
    }
  }

  /** Resolves when every mirror has caught up with the guest's writes (and keeps mirroring them). */
  async ready(progress: (p: DiskProgress) => void): Promise<void> {
    let last = { copied: -1, at: Date.now() };
    let rate = { copied: 0, at: Date.now(), bytesPerSecond: 0 };
    for (;;) {
      const jobs = await this.jobs();
      const copied = jobs.reduce((s, j) => s + j.offset, 0);
      const remaining = jobs.reduce((s, j) => s + j.len - j.offset, 0);
      const now = Date.now();
      if (now - rate.at >= 1000)
        rate = { copied, at: now, bytesPerSecond: ((copied - rate.copied) * 1000) / (now - rate.at) };
      progress({ copied, remaining, bytesPerSecond: rate.bytesPerSecond });
      if (jobs.every((j) => j.ready)) return;
      if (copied !== last.copied) last = { copied, at: now };
      else if (now - last.at > STALL_MS)
        throw new MigrationFailed(
          `disk mirror made no progress for ${STALL_MS / 1000} s (${copied} bytes copied)`,
        );
      await sleep(POLL_MS);
    }
  }

  /**
   * With the guest paused (pre-switchover): copies what is still dirty and ends the mirrors, leaving the
   * destination's disks equal to the source's; then closes the NBD connections.
   */
  async complete(): Promise<void> {
    for (const device of this.started)
      await this.source.execute('block-job-cancel', { device: jobId(device) });
    await this.finish(false);
  }

  /** Stops everything this mirror started, on both sides; the source's own disks are untouched. */
  async abort(): Promise<void> {
    for (const device of this.started)
      await this.source
        .execute('block-job-cancel', { device: jobId(device), force: true })
        .catch(() => undefined);
    await this.finish(true).catch(() => undefined);
  }

  private async finish(quiet: boolean): Promise<void> {
    for (const device of this.started.splice(0)) {
      await concluded(this.source, jobId(device), quiet);
      await this.source.execute('job-dismiss', { id: jobId(device) }).catch((err) => {
        if (!quiet) throw err;
      });
      await this.source.execute('blockdev-del', { 'node-name': clientNode(device) }).catch(() => undefined);
    }
    if (!this.serving) return;
    this.serving = false;
    for (const c of this.copies)
      await this.destination?.execute('block-export-del', { id: exportId(c.device) }).catch(() => undefined);
    await this.destination?.execute('nbd-server-stop').catch(() => undefined);
  }

  private async jobs(): Promise<BlockJob[]> {
    const all = await this.source.execute<BlockJob[]>('query-block-jobs');
    const ours = this.copies.map((c) => {
      const job = all.find((j) => j.device === jobId(c.device));
      if (job === undefined) throw new MigrationFailed(`disk ${c.device}: the mirror job ended early`);
      // A mirror that lost its target (the destination died, the link broke) ends with an error.
      if (job.status === 'concluded' || job.status === 'aborting' || job.error !== undefined)
        throw new MigrationFailed(`disk ${c.device}: the mirror failed: ${job.error ?? job.status}`);
      return job;
    });
    return ours;
  }
}

/** Waits for a job to reach `concluded` (its data is all written); a job that failed says why. */
async function concluded(qmp: QmpClient, id: string, quiet: boolean): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    const jobs = await qmp.execute<{ id: string; status: string; error?: string }[]>('query-jobs');
    const job = jobs.find((j) => j.id === id);
    if (job === undefined) return;
    if (job.status === 'concluded' || job.status === 'null') {
      if (job.error !== undefined && !quiet) throw new MigrationFailed(`disk mirror ${id}: ${job.error}`);
      return;
    }
    await sleep(20);
  }
  if (!quiet) throw new MigrationFailed(`disk mirror ${id} did not end within 60 s`);
}

/**
 * The block node behind a disk: `device` is its node-name (-blockdev) or its drive id (-drive); failing
 * both, the node whose file is `path`.
 */
async function nodeOf(qmp: QmpClient, device: string, path: string): Promise<string> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block');
  const hit =
    blocks.find((b) => b.inserted?.['node-name'] === device) ??
    blocks.find((b) => b.device === device) ??
    blocks.find((b) => b.inserted?.file === path);
  const node = hit?.inserted?.['node-name'];
  if (node === undefined)
    throw new MigrationFailed(
      `disk ${device}: no such block device in QEMU (query-block has ${blocks.map((b) => b.inserted?.['node-name'] ?? b.device).join(', ') || 'none'})`,
    );
  return node;
}
