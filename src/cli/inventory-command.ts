import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { inventoryDiff } from '../inventory/inventory-diff.js';
import { readLibvirt } from '../inventory/read-libvirt.js';
import type { InventoryInput } from '../inventory/schema.js';
import { VirshError } from '../inventory/virsh.js';
import { checkOutputPath } from './output-path.js';
import { repeatable } from './repeatable.js';

interface InventoryFlags {
  libvirt: string[];
  cloud: string[];
  out?: string;
}

export function registerInventory(program: Command): void {
  program
    .command('inventory')
    .summary('write the inventory (hosts, VMs, NICs, disks) from what libvirt knows')
    .description(
      'Reads every domain of each libvirt host: vCPUs, memory, NICs (MAC, bridge, IPs from DHCP leases,\n' +
        'the guest agent or ARP), file disks (format, sizes, backing chain). The host is named by virsh\n' +
        'hostname, its cloud by --cloud. With -o onto an existing file, prints what changed per VM.',
    )
    .requiredOption('--libvirt <uri...>', 'libvirt URIs of the hosts, e.g. qemu+ssh://hv1/system')
    .option('--cloud <host=cloud>', "a host's cloud (repeatable)", repeatable, [])
    .option('-o, --out <file>', 'write the inventory there (YAML) instead of stdout')
    .action(async (flags: InventoryFlags) => {
      checkOutputPath('--out', flags.out);
      const cloudOf = new Map<string, string>();
      for (const pair of flags.cloud) {
        const [host, cloud] = pair.split('=');
        if (host === undefined || cloud === undefined || host === '' || cloud === '')
          throw new UserError('bad_cloud_mapping', `--cloud: "${pair}" is not HOST=CLOUD`);
        cloudOf.set(host, cloud);
      }
      let inventory: InventoryInput;
      try {
        inventory = await readLibvirt(flags.libvirt, cloudOf);
      } catch (err) {
        if (err instanceof VirshError) throw new UserError('libvirt_unreachable', err.message);
        throw err;
      }
      const unmapped = (inventory.hosts ?? []).filter((h) => h.cloud === undefined).map((h) => h.name);
      if (unmapped.length > 0)
        process.stderr.write(
          `sky-plan: warning: no --cloud for host ${unmapped.join(', ')}: its VMs have no cloud\n`,
        );
      const { parse, stringify } = await import('yaml');
      const text = stringify(inventory, { lineWidth: 0 });
      if (flags.out === undefined) {
        process.stdout.write(text);
        return;
      }
      if (existsSync(flags.out)) {
        let before: InventoryInput;
        try {
          before = (parse(readFileSync(flags.out, 'utf8')) ?? {}) as InventoryInput;
        } catch (err) {
          throw new UserError('inventory_invalid', `${flags.out}: not YAML (${(err as Error).message})`);
        }
        const changes = inventoryDiff(before.vms ?? [], inventory.vms ?? []);
        process.stdout.write(
          changes.length === 0
            ? `${flags.out}: unchanged\n`
            : `${flags.out}:\n${changes.map((l) => `  ${l}\n`).join('')}`,
        );
      }
      await writeFile(flags.out, text);
    });
}
