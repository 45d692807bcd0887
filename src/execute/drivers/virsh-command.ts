import { UserError } from '../../errors.js';
import type { Cloud, Host } from '../../inventory/schema.js';

/** Where one end of a migration is reached: a host's own libvirt, or its cloud's. */
export interface LibvirtEndpoint {
  uri: string;
  /** The destination's migration address: libvirt picks a port there per migration. */
  migrationAddress?: string;
  /** A fixed destination for the stream (the dedup tunnel's source end), from the cloud's settings. */
  migrateUri?: string;
  listenAddress?: string;
}

/** A host's libvirt settings, else its cloud's (and a cloud's migrateUri, the tunnel, applies to its hosts). */
export function libvirtEndpoint(
  clouds: Map<string, Cloud>,
  hosts: Map<string, Host>,
  cloud: string,
  host: string | null,
): LibvirtEndpoint {
  const own = host === null ? undefined : hosts.get(host)?.libvirt;
  const shared = clouds.get(cloud)?.libvirt;
  const uri = own?.uri ?? shared?.uri;
  if (uri === undefined)
    throw new UserError(
      'no_libvirt',
      `${host === null ? '' : `host ${host} has no libvirt settings and `}cloud ${cloud} has no libvirt uri in the clouds spec`,
    );
  return {
    uri,
    ...(own?.migrationAddress === undefined ? {} : { migrationAddress: own.migrationAddress }),
    ...(shared?.migrateUri === undefined ? {} : { migrateUri: shared.migrateUri }),
    ...(shared?.listenAddress === undefined ? {} : { listenAddress: shared.listenAddress }),
  };
}

/** How the disks go: inc copies overlays onto the destination's base image, all copies whole disks. */
export interface StorageCopy {
  mode: 'inc' | 'all';
  /** The disks' target names (vda, ...); undefined: every disk libvirt finds writable and not shared. */
  disks?: string[];
}

/**
 * With --dedup: the local ports of the tunnel's source proxies. The source QEMU connects to 127.0.0.1 at
 * each (memory, and the disks' NBD), and the destination listens on the same ports at its own address,
 * where the tunnel delivers: libvirt takes the migration port from the URI and the NBD one from
 * --disks-port, and the NBD client connects to the URI's host.
 */
export interface TunnelPorts {
  memory: number;
  disks?: number;
}

/**
 * The `virsh migrate` command line for one migration: live, persistent at the destination, undefined at
 * the source (so the domain exists in exactly one place), its disks copied (libvirt's NBD sequence), at
 * most `bandwidthMiB`, auto-converge so a guest that dirties memory faster than the link still gets
 * there. Without a fixed migrateUri it gives only the destination's address, so libvirt there picks a
 * free port for each migration and concurrent ones into one host never collide.
 */
export function virshMigrate(
  vm: string,
  source: LibvirtEndpoint,
  destination: LibvirtEndpoint,
  o: { storage?: StorageCopy; bandwidthMiB?: number; tunnel?: TunnelPorts },
): string[] {
  const migrateUri =
    o.tunnel !== undefined
      ? `tcp://127.0.0.1:${o.tunnel.memory}`
      : (destination.migrateUri ??
        (destination.migrationAddress === undefined ? undefined : `tcp://${destination.migrationAddress}`));
  const listen = destination.listenAddress ?? destination.migrationAddress;
  const storage = o.storage;
  return [
    'virsh',
    '-c',
    source.uri,
    'migrate',
    '--live',
    '--persistent',
    '--undefinesource',
    '--auto-converge',
    '--verbose',
    ...(storage === undefined || storage.disks?.length === 0 ? [] : [`--copy-storage-${storage.mode}`]),
    ...(storage?.disks === undefined || storage.disks.length === 0
      ? []
      : ['--migrate-disks', storage.disks.join(',')]),
    ...(o.bandwidthMiB === undefined ? [] : ['--bandwidth', String(o.bandwidthMiB)]),
    ...(migrateUri === undefined ? [] : ['--migrateuri', migrateUri]),
    ...(o.tunnel?.disks === undefined ? [] : ['--disks-port', String(o.tunnel.disks)]),
    ...(listen === undefined ? [] : ['--listen-address', listen]),
    vm,
    destination.uri,
  ];
}

/**
 * Whether a VM's disks can go by --copy-storage-inc: every overlay (`backings`: each disk's chain,
 * nearest first) sits directly on one base image, which the destination has (`base`). An overlay over a
 * longer chain, or over another base, would be left without the blocks beneath it.
 */
export function copiesIncrementally(backings: string[][], base: string | undefined): boolean {
  const backed = backings.filter((chain) => chain.length > 0);
  return (
    base !== undefined &&
    backed.length > 0 &&
    backed.every((chain) => chain.length === 1 && chain[0] === backed[0]?.[0])
  );
}

/** MiB/s for virsh --bandwidth: the planned rate of the migration's link, rounded up. */
export function bandwidthMiB(wanBytes: number, seconds: number): number | undefined {
  if (!(seconds > 0) || !(wanBytes > 0)) return undefined;
  return Math.max(1, Math.ceil(wanBytes / seconds / 2 ** 20));
}
