import { homedir } from 'node:os';
import { join } from 'node:path';
import type { MigrationDriver } from '../execute/driver.js';
import type { DedupRoutes } from '../execute/drivers/dedup-tunnel.js';
import { LibvirtDriver } from '../execute/drivers/libvirt-driver.js';
import { QmpDriver } from '../execute/drivers/qmp-driver.js';
import type { Cloud, Inventory } from '../inventory/schema.js';

/** The driver `execute` and `autopilot` migrate with: QEMU's QMP (disks taken along) or libvirt. */
export function migrationDriver(
  name: string,
  clouds: Map<string, Cloud>,
  spec: Inventory | undefined,
  routes: DedupRoutes | undefined,
): MigrationDriver {
  return name === 'qmp' && spec !== undefined
    ? new QmpDriver(clouds, routes, spec)
    : new LibvirtDriver(clouds, spec, routes);
}

/** Where the store pictures live between runs: the flag, the user's cache directory, or nowhere. */
export function dedupCache(flag: string | false | undefined): string | undefined {
  if (flag === false) return undefined;
  if (flag !== undefined) return flag;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'sky-plan', 'dedup');
}

/** The pictures are a cache: one that cannot be read or written costs a larger handshake, nothing else. */
export function saveRoutes(routes: DedupRoutes): void {
  for (const w of routes.warnings) process.stderr.write(`sky-plan: warning: ${w}\n`);
  try {
    routes.save();
  } catch (err) {
    process.stderr.write(
      `sky-plan: warning: the dedup store pictures were not saved: ${(err as Error).message}\n`,
    );
  }
}
