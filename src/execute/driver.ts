import type { Migration } from './schedule.js';

export interface MigrationProgress {
  /** Bytes sent so far, bytes left, and the total to send (RAM, as QEMU counts it). */
  transferred: number;
  remaining: number;
  total: number;
  bytesPerSecond: number;
  /** Pages the guest dirties per second: when it beats the link, precopy does not converge. */
  dirtyPagesPerSecond: number;
  /** The disks' mirror, for a VM that takes its disks along. */
  disk?: { copied: number; remaining: number; bytesPerSecond: number };
}

/** What a migration through the dedup tunnel put on the WAN (sky-plan execute --dedup). */
export interface DedupReport {
  streamBytes: number;
  wanBytes: number;
  pagesNew: number;
  pagesRef: number;
  pagesZero: number;
  /** The destination store's handshake, sent the other way (not in wanBytes). */
  handshakeBytes: number;
  /** The disk mirrors' NBD connection through the tunnel (4 KiB blocks counted as pages). */
  disks?: DedupReport;
}

/** The steps of a migration that takes disks along; a diskless one only has `memory` and `switchover`. */
export type MigrationStep = 'disks-created' | 'mirror' | 'memory' | 'switchover';

/** A migration that did not happen; the VM still runs at its source. */
export class MigrationFailed extends Error {}

/** How a plan's migrations reach the hypervisors. Each driver is one file in drivers/. */
export interface MigrationDriver {
  readonly name: string;
  /** Reasons not to start (unreachable hypervisor, a VM not where the plan says); empty when all is well. */
  preflight(migrations: Migration[]): Promise<string[]>;
  /**
   * One live migration: resolves once the VM runs at the destination only (the source stopped), or
   * throws MigrationFailed with the source running again.
   */
  migrate(
    m: Migration,
    progress: (p: MigrationProgress) => void,
    /** Each step as it begins, for the journal (what a resumed run will find). */
    step?: (s: MigrationStep) => void,
  ): Promise<DedupReport | undefined>;
  /**
   * After a crash mid-migration: waits for a migration QEMU carried on alone, makes sure the VM runs in
   * exactly one place, and says which.
   */
  reconcile(m: Migration): Promise<'source' | 'destination'>;
}
