import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseMac } from '../addresses.js';
import { CaptureError } from '../capture-error.js';
import type { LocalVm } from '../window-document.js';

const run = promisify(execFile);

/**
 * `virsh domiflist` output: a header, a rule, then "Interface Type Source Model MAC" rows. Interfaces
 * without a host-side device (user networking) show "-" and cannot be captured.
 */
export function parseDomiflist(domain: string, text: string): LocalVm[] {
  const vms: LocalVm[] = [];
  for (const line of text.split('\n').slice(2)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    const iface = cols[0] as string;
    const mac = cols[cols.length - 1] as string;
    if (iface === '-' || parseMac(mac) === undefined) continue;
    vms.push({ name: domain, mac: mac.toLowerCase(), interface: iface });
  }
  return vms;
}

/** The running domains' taps, from libvirt: VM name, MAC and host-side interface of each NIC. */
export async function libvirtTaps(uri: string | undefined): Promise<LocalVm[]> {
  const connect = uri === undefined ? [] : ['-c', uri];
  const virsh = async (args: string[]) => {
    try {
      return (await run('virsh', [...connect, ...args], { timeout: 30_000 })).stdout;
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      if (e.code === 'ENOENT') {
        throw new CaptureError('no_virsh', '--libvirt needs virsh (apt-get install libvirt-clients)');
      }
      throw new CaptureError(
        'libvirt_failed',
        `virsh ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`,
      );
    }
  };
  const domains = (await virsh(['list', '--name']))
    .split('\n')
    .map((d) => d.trim())
    .filter((d) => d !== '');
  const taps: LocalVm[] = [];
  for (const domain of domains) taps.push(...parseDomiflist(domain, await virsh(['domiflist', domain])));
  return taps;
}
