import { canonicalIp } from '../../capture/addresses.js';
import { parseDomain } from './libvirt-domain.js';
import type { InventoryInput } from './schema.js';
import { virsh } from './virsh.js';

type VmInput = NonNullable<InventoryInput['vms']>[number];
type HostInput = NonNullable<InventoryInput['hosts']>[number];

/** Where domifaddr looks: the DHCP leases of libvirt's networks, the guest agent, the host's ARP table. */
const ADDRESS_SOURCES = ['lease', 'agent', 'arp'] as const;

/**
 * The inventory libvirt knows, one host per URI (named by `virsh hostname`): each domain with its
 * vCPUs, memory, NICs (MAC, bridge, and the IPs any address source reports) and file disks (format,
 * virtual and allocated size, backing chain). Sorted by name, so reading the same hosts twice gives the
 * same inventory.
 */
export async function readLibvirt(uris: string[], cloudOf: Map<string, string>): Promise<InventoryInput> {
  const hosts: HostInput[] = [];
  const vms: VmInput[] = [];
  for (const uri of uris) {
    const name = (await virsh(uri, 'hostname')).trim();
    const cloud = cloudOf.get(name);
    hosts.push({
      name,
      ...(cloud === undefined ? {} : { cloud }),
      capacity: await capacity(uri),
      libvirt: { uri },
    });
    const domains = (await virsh(uri, 'list', '--all', '--name')).split('\n').map((s) => s.trim());
    for (const domain of domains.filter(Boolean).sort()) vms.push(await readDomain(uri, domain, name));
  }
  vms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { hosts, vms };
}

async function capacity(uri: string): Promise<{ vcpus: number; memoryGiB: number }> {
  const info = await virsh(uri, 'nodeinfo');
  const field = (label: string) => Number(new RegExp(`^${label}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { vcpus: field('CPU\\(s\\)'), memoryGiB: round(field('Memory size') / 2 ** 20) };
}

async function readDomain(uri: string, name: string, host: string): Promise<VmInput> {
  const domain = parseDomain(await virsh(uri, 'dumpxml', name));
  const running = (await virsh(uri, 'domstate', name)).trim() === 'running';
  const ips = running ? await addresses(uri, name) : new Map<string, Set<string>>();
  const disks: NonNullable<VmInput['disks']> = [];
  for (const d of domain.disks) {
    // domblkinfo: Capacity is the virtual size, Allocation what the file itself holds on the host.
    const info = await virsh(uri, 'domblkinfo', name, d.target).catch(() => '');
    const size = (label: string) => {
      const m = new RegExp(`^${label}:\\s*(\\d+)`, 'm').exec(info);
      return m === null ? undefined : Number(m[1]);
    };
    const virtualBytes = size('Capacity');
    const allocatedBytes = size('Allocation');
    disks.push({
      device: d.target,
      path: d.path,
      ...(d.format === 'raw' || d.format === 'qcow2' ? { format: d.format as 'raw' | 'qcow2' } : {}),
      ...(virtualBytes === undefined ? {} : { virtualBytes }),
      ...(allocatedBytes === undefined ? {} : { allocatedBytes }),
      ...(d.backing.length === 0 ? {} : { backing: d.backing }),
    });
  }
  return {
    name: domain.name,
    host,
    vcpus: domain.vcpus,
    memoryGiB: round(domain.memoryGiB),
    nics: domain.nics.map((n) => {
      const found = [...(ips.get(n.mac.toLowerCase()) ?? [])].sort();
      return {
        mac: n.mac.toLowerCase(),
        ...(found.length === 0 ? {} : { ips: found }),
        ...(n.bridge === undefined ? {} : { bridge: n.bridge }),
        ...(n.tap === undefined ? {} : { tap: n.tap }),
      };
    }),
    disks,
  };
}

/** IPs per MAC from every address source that answers (a source that cannot, for lack of an agent or a lease, is skipped). */
async function addresses(uri: string, name: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const source of ADDRESS_SOURCES) {
    const table = await virsh(uri, 'domifaddr', name, '--source', source).catch(() => '');
    for (const m of table.matchAll(/^\s*\S+\s+([0-9a-f:]{17})\s+ipv[46]\s+([0-9a-f.:]+)\/\d+/gim)) {
      const mac = (m[1] ?? '').toLowerCase();
      if (canonicalIp(m[2] ?? '') === undefined) continue;
      const set = out.get(mac) ?? new Set<string>();
      set.add(m[2] ?? '');
      out.set(mac, set);
    }
  }
  return out;
}

const round = (x: number) => Math.round(x * 1000) / 1000;
