import { EXIT, UserError } from '../../errors.js';
import type { Cloud } from '../../inventory/schema.js';
import type { Migration } from '../schedule.js';

/**
 * The `virsh migrate` command line for one migration: live, persistent at the destination, undefined at
 * the source (so the domain exists in exactly one place), routed through migrateUri/listenAddress (the
 * dedup tunnel) when the destination cloud sets them.
 */
export function virshMigrate(clouds: Map<string, Cloud>, m: Migration): string[] {
  const source = libvirt(clouds, m.from);
  const destination = libvirt(clouds, m.to);
  return [
    'virsh',
    '-c',
    source.uri,
    'migrate',
    '--live',
    '--persistent',
    '--undefinesource',
    '--verbose',
    ...(destination.migrateUri === undefined ? [] : ['--migrateuri', destination.migrateUri]),
    ...(destination.listenAddress === undefined ? [] : ['--listen-address', destination.listenAddress]),
    m.vm,
    destination.uri,
  ];
}

export function libvirt(clouds: Map<string, Cloud>, cloud: string): NonNullable<Cloud['libvirt']> {
  const settings = clouds.get(cloud)?.libvirt;
  if (settings === undefined)
    throw new UserError(
      'no_libvirt',
      `cloud ${cloud} has no libvirt settings (uri) in the clouds spec`,
      EXIT.usage,
    );
  return settings;
}
