import type { Cloud, Inventory } from '../../inventory/schema.js';
import { shellQuote } from '../../shell-quote.js';
import type { ScriptSteps } from '../render-script.js';
import type { Migration } from '../schedule.js';
import { baseAt } from './disk-targets.js';
import { bandwidthMiB, copiesIncrementally, libvirtEndpoint, virshMigrate } from './virsh-command.js';

/**
 * sky_volume DEST PATH SOURCE VM TARGET FORMAT [BASE BASE_FORMAT]: the destination volume an
 * incremental copy needs (libvirt does not create those itself), in the pool over PATH's directory, as
 * large as the running disk.
 */
const SKY_VOLUME = [
  'sky_volume() {',
  '  dir=$(dirname "$2"); pool=""',
  '  for p in $(virsh -c "$1" pool-list --all --name); do',
  '    if virsh -c "$1" pool-dumpxml "$p" | grep -q "<path>$dir</path>"; then pool=$p; break; fi',
  '  done',
  '  [ -n "$pool" ] || { echo "no storage pool at $1 holds $dir" >&2; return 1; }',
  '  size=$(virsh -c "$3" domblkinfo "$4" "$5" | awk \'/^Capacity:/ {print $2}\')',
  '  if [ $# -ge 7 ]; then',
  '    virsh -c "$1" vol-create-as "$pool" "$(basename "$2")" "$size" --format "$6" --backing-vol "$7" --backing-vol-format "$8"',
  '  else',
  '    virsh -c "$1" vol-create-as "$pool" "$(basename "$2")" "$size" --format "$6"',
  '  fi',
  '}',
];

/**
 * The script driver's commands for one migration: the libvirt driver's, written from the inventory
 * instead of asked of libvirt. Overlays whose base the destination has go incrementally onto it (the
 * base taken as qcow2); a VM whose disks the inventory does not list is copied whole, libvirt finding
 * its disks and creating them in the destination's pools.
 */
export function libvirtScript(clouds: Map<string, Cloud>, inventory: Inventory): ScriptSteps {
  const hosts = new Map(inventory.hosts.map((h) => [h.name, h]));
  const vms = new Map(inventory.vms.map((vm) => [vm.name, vm]));
  return {
    preamble: SKY_VOLUME,
    steps(m: Migration): string[] {
      const source = libvirtEndpoint(clouds, hosts, m.from, m.fromHost);
      const destination = libvirtEndpoint(clouds, hosts, m.to, m.toHost);
      const disks = vms.get(m.vm)?.disks ?? [];
      const base = baseAt(inventory, vms.get(m.vm)?.image ?? m.image ?? undefined, m.to);
      const incremental = copiesIncrementally(
        disks.map((d) => d.backing ?? []),
        base,
      );
      const volumes = incremental
        ? disks.map((d) =>
            [
              'sky_volume',
              destination.uri,
              d.path,
              source.uri,
              m.vm,
              d.device,
              ...((d.backing?.length ?? 0) > 0 ? ['qcow2', base as string, 'qcow2'] : [d.format ?? 'raw']),
            ]
              .map(shellQuote)
              .join(' '),
          )
        : [];
      const bandwidth = bandwidthMiB(m.wanBytes, m.seconds);
      const migrate = virshMigrate(m.vm, source, destination, {
        storage:
          disks.length === 0
            ? { mode: 'all' }
            : { mode: incremental ? 'inc' : 'all', disks: disks.map((d) => d.device) },
        ...(bandwidth === undefined ? {} : { bandwidthMiB: bandwidth }),
      });
      return [...volumes, migrate.map(shellQuote).join(' ')];
    },
  };
}
