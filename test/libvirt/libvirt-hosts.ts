import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A libvirt daemon acting as one hypervisor host. */
export interface LibvirtHost {
  name: string;
  uri: string;
  /** Its /var/lib/libvirt/images, seen from outside its mount namespace. */
  images: string;
  /** `virsh -c URI ARGS`'s output; throws on failure. */
  virsh(...args: string[]): string;
  stop(): void;
}

/** Directories a host has of its own: bind-mounted over the system's inside its mount namespace. */
const OWN = ['/run/libvirt', '/var/lib/libvirt', '/var/cache/libvirt', '/var/log/libvirt', '/etc/libvirt'];

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * Starts `libvirtd` as host `name`: its own mount and UTS namespace (hostname, and run, state, config
 * and log directories of its own), its own host UUID (libvirt refuses to migrate to the host it runs
 * on), TCP on loopback without auth, QEMU as root without a security driver or cgroups (none in a
 * container), and migration ports of its own. Two such hosts on one machine migrate to each other.
 */
export async function startLibvirtHost(dir: string, name: string, index: number): Promise<LibvirtHost> {
  const root = join(dir, name);
  const own = OWN.map((path) => join(root, path.split('/').filter(Boolean).join('-')));
  for (const path of [...OWN, ...own]) mkdirSync(path, { recursive: true });
  const etc = own[4] as string;
  for (const file of ['libvirt.conf', 'qemu.conf']) copyFileSync(join('/etc/libvirt', file), join(etc, file));
  mkdirSync(join(own[1] as string, 'images'), { recursive: true });
  const port = await freePort();
  const uuid = `00000000-0000-4000-8000-${String(index + 1).padStart(12, '0')}`;
  writeFileSync(
    join(etc, 'libvirtd.conf'),
    [
      'listen_tls = 0',
      'listen_tcp = 1',
      `tcp_port = "${port}"`,
      'listen_addr = "127.0.0.1"',
      'auth_tcp = "none"',
      `host_uuid = "${uuid}"`,
      'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
      '',
    ].join('\n'),
  );
  const migrationPorts = 49300 + index * 100;
  writeFileSync(
    join(etc, 'qemu.conf'),
    [
      'security_driver = "none"',
      'user = "root"',
      'group = "root"',
      'dynamic_ownership = 0',
      'remember_owner = 0',
      'cgroup_controllers = [ ]',
      'stdio_handler = "file"',
      `migration_port_min = ${migrationPorts}`,
      `migration_port_max = ${migrationPorts + 63}`,
      '',
    ].join('\n'),
  );
  const mounts = OWN.map((path, i) => `mount --bind '${own[i]}' '${path}'`).join('\n');
  const daemon: ChildProcess = spawn(
    'unshare',
    [
      '--mount',
      '--uts',
      '--propagation',
      'private',
      'sh',
      '-c',
      `set -e\nhostname ${name}\n${mounts}\nexec libvirtd --listen --pid-file /run/libvirt/libvirtd.pid`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let errors = '';
  daemon.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const uri = `qemu+tcp://127.0.0.1:${port}/system`;
  const virsh = (...args: string[]) => execFileSync('virsh', ['-c', uri, ...args], { encoding: 'utf8' });
  const stop = () => {
    const domains = spawnSync('virsh', ['-c', uri, 'list', '--name'], { encoding: 'utf8' }).stdout ?? '';
    for (const domain of domains.split('\n').filter(Boolean))
      spawnSync('virsh', ['-c', uri, 'destroy', domain]);
    daemon.kill('SIGTERM');
  };
  for (let i = 0; i < 100; i++) {
    if (spawnSync('virsh', ['-c', uri, 'hostname'], { encoding: 'utf8' }).stdout?.trim() === name)
      return { name, uri, images: join(own[1] as string, 'images'), virsh, stop };
    if (daemon.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  stop();
  throw new Error(`libvirtd for ${name} did not start: ${errors}`);
}

/** A storage pool over the host's image directory: libvirt creates migration targets only in pools. */
export function definePool(host: LibvirtHost): void {
  host.virsh('pool-define-as', 'images', 'dir', '--target', '/var/lib/libvirt/images');
  host.virsh('pool-start', 'images');
}

/** A tiny TCG domain booting the test guest, its disk a qcow2 under the host's image directory. */
export function domainXml(o: {
  name: string;
  kernel: string;
  initrd: string;
  disk: string;
  serial: string;
  /** A NIC on this bridge (libvirt creates its tap there). */
  nic?: { bridge: string; mac: string };
}): string {
  return `<domain type='qemu'>
  <name>${o.name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${o.kernel}</kernel>
    <initrd>${o.initrd}</initrd>
    <cmdline>console=ttyS0 nokaslr quiet panic=-1 printk.devkmsg=on</cmdline>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${o.disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
${o.nic === undefined ? '' : `    <interface type='bridge'><source bridge='${o.nic.bridge}'/><mac address='${o.nic.mac}'/><model type='e1000'/></interface>\n`}    <serial type='file'><source path='${o.serial}' append='on'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}
