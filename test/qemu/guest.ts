import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../../src/shell-quote.js';

export interface Guest {
  kernel: string;
  initrd: string;
}

/** Loaded in this order: virtio_blk and what it needs (Debian builds them as modules). */
const MODULES = [
  'drivers/virtio/virtio_ring.ko',
  'drivers/virtio/virtio.ko',
  'drivers/virtio/virtio_pci_modern_dev.ko',
  'drivers/virtio/virtio_pci_legacy_dev.ko',
  'drivers/virtio/virtio_pci.ko',
  'drivers/block/virtio_blk.ko',
];

/** The NIC driver, loaded only by a guest given an address (`net=` on its command line). */
const NET_MODULE = 'drivers/net/ethernet/intel/e1000/e1000.ko';

/** The TCP port where a guest with an address echoes back what it receives (busybox nc, one per connection). */
export const ECHO_PORT = 5001;

/** Where a guest with a disk writes its counter: a sector 48 MiB into /dev/vda, past the tests' data. */
export const COUNTER_OFFSET = 48 << 20;

/**
 * The guest prints a counter on its serial port: after a live migration it must go on, not restart.
 * It prints through the kernel console (/dev/kmsg at a level `quiet` still shows), which polls the
 * UART: a tty write waits for the UART's transmit interrupt, and twice in CI a migrated guest printed
 * nothing more, though QEMU said it ran. A
 * guest with a virtio disk also writes it to the disk at each tick, synchronously (conv=fsync), so the
 * disk changes all through a migration. With `readdisk` on its command line it first reads 64 MiB of
 * its disk, which leaves those blocks in its page cache (memory pages equal to disk blocks).
 */
const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /dev
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t devtmpfs dev /dev
for m in ${MODULES.map((m) => `/lib/${m.split('/').pop()}`).join(' ')}; do /bin/busybox insmod $m 2>/dev/null; done
net=$(/bin/busybox sed -n 's/.* net=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$net" ]; then
  /bin/busybox insmod /lib/e1000.ko
  /bin/busybox ip addr add "$net" dev eth0
  /bin/busybox ip link set eth0 up
  /bin/busybox nc -ll -p ${ECHO_PORT} -e /bin/busybox cat &
  ping=$(/bin/busybox sed -n 's/.* ping=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
  if [ -n "$ping" ]; then
    set -- $(echo "$ping" | /bin/busybox tr , ' ')
    /bin/busybox ping -q -s "$2" -i "$3" "$1" > /dev/null &
  fi
fi
if /bin/busybox grep -q readdisk /proc/cmdline; then
  /bin/busybox dd if=/dev/vda of=/dev/null bs=1M count=64 2>/dev/null
fi
i=0
while true; do
  echo "<2>tick $i" > /dev/kmsg
  if [ -b /dev/vda ]; then
    echo "count $i" | /bin/busybox dd of=/dev/vda bs=512 seek=${COUNTER_OFFSET / 512} conv=notrunc,sync,fsync 2>/dev/null
  fi
  i=$((i+1)); /bin/busybox sleep 0.2
done
`;

/**
 * A tiny guest built from Debian packages only: the kernel of linux-image-amd64 (downloaded with
 * apt-get download and unpacked with dpkg -x, not installed) and an initrd of busybox-static. Cached
 * in the temp directory per kernel version.
 */
export function buildGuest(): Guest {
  for (const tool of ['qemu-system-x86_64', 'cpio', 'dpkg', 'apt-get'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is missing (apt-get install qemu-system-x86 cpio busybox-static)`);
  if (!existsSync('/bin/busybox'))
    throw new Error('/bin/busybox is missing (apt-get install busybox-static)');
  const depends = execFileSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' });
  const pkg = /Depends: (linux-image-[\w.-]+)/.exec(depends)?.[1];
  if (pkg === undefined) throw new Error(`no kernel package behind linux-image-amd64: ${depends}`);
  // v7: the initrd carries virtio_blk and e1000, writes the counter at COUNTER_OFFSET, may read its
  // disk, prints its ticks through the kernel console, and given an address echoes TCP and may ping.
  const dir = join(tmpdir(), `sky-plan-guest-v7-${pkg}`);
  const initrd = join(dir, 'initrd.gz');
  const kernelDir = join(dir, 'unpacked', 'boot');
  const kernelName = () => readdirSync(kernelDir).find((f) => f.startsWith('vmlinuz-'));
  if (existsSync(initrd) && existsSync(kernelDir) && kernelName() !== undefined)
    return { kernel: join(kernelDir, kernelName() as string), initrd };
  mkdirSync(dir, { recursive: true });
  execFileSync('apt-get', ['download', pkg], { cwd: dir, stdio: 'pipe' });
  const deb = readdirSync(dir).find((f) => f.startsWith(pkg) && f.endsWith('.deb')) as string;
  execFileSync('dpkg', ['-x', join(dir, deb), join(dir, 'unpacked')]);
  const root = join(dir, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'lib'), { recursive: true });
  const modules = join(dir, 'unpacked', 'lib', 'modules');
  const release = readdirSync(modules)[0] as string;
  for (const m of [...MODULES, NET_MODULE])
    copyFileSync(join(modules, release, 'kernel', m), join(root, 'lib', m.split('/').pop() as string));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  writeFileSync(join(root, 'init'), INIT, { mode: 0o755 });
  execFileSync('sh', ['-c', `find . | cpio -o -H newc --quiet | gzip -1 > ${initrd}`], { cwd: root });
  return { kernel: join(kernelDir, kernelName() as string), initrd };
}

/** The QEMU command line of a guest (TCG, 128 MiB, serial to a file, one e1000 NIC on a UDP socket). */
export function qemuCommand(
  guest: Guest,
  o: {
    qmp: string;
    serial: string;
    mac: string;
    /** The NIC: a UDP socket on this port (the tests receive QEMU's announcements there), or a tap. */
    announcePort?: number;
    tap?: string;
    /** The guest's address on its NIC (e.g. 10.98.0.10/24): it then echoes TCP on ECHO_PORT. */
    net?: string;
    /** With `net`: the guest pings this address all the time, `size` data bytes every `interval` s. */
    ping?: { to: string; size: number; interval: number };
    incoming?: string;
    /** A qcow2 image, attached as virtio disk whose node-name is vda. */
    disk?: string;
    /** The guest reads 64 MiB of its disk at boot. */
    readDisk?: boolean;
  },
): string[] {
  return [
    'qemu-system-x86_64',
    '-machine',
    'pc',
    '-accel',
    'tcg',
    '-m',
    '128',
    '-nodefaults',
    '-display',
    'none',
    '-serial',
    `file:${o.serial}`,
    '-kernel',
    guest.kernel,
    '-initrd',
    guest.initrd,
    '-append',
    // printk.devkmsg=on: the ticks go through /dev/kmsg, which otherwise rate-limits them.
    `console=ttyS0 nokaslr quiet panic=-1 printk.devkmsg=on${o.readDisk ? ' readdisk' : ''}${o.net === undefined ? '' : ` net=${o.net}`}${o.ping === undefined ? '' : ` ping=${o.ping.to},${o.ping.size},${o.ping.interval}`}`,
    '-qmp',
    `unix:${o.qmp},server=on,wait=off`,
    // QEMU announces a migrated NIC with RARP frames; the test receives them on this UDP port.
    '-netdev',
    o.tap === undefined
      ? `socket,id=n0,udp=127.0.0.1:${o.announcePort},localaddr=127.0.0.1:0`
      : `tap,id=n0,ifname=${o.tap},script=no,downscript=no`,
    '-device',
    `e1000,netdev=n0,mac=${o.mac}`,
    ...(o.disk === undefined
      ? []
      : [
          '-blockdev',
          `driver=qcow2,node-name=vda,file.driver=file,file.filename=${o.disk}`,
          '-device',
          'virtio-blk-pci,drive=vda,id=vda-dev',
        ]),
    ...(o.incoming === undefined ? [] : ['-incoming', o.incoming]),
  ];
}

/**
 * The operator's launch command of a destination cloud, as a script `DIR/launch.sh VM CLOUD SOCKET
 * [vda=PATH]`: the guest's QEMU paused for -incoming, with the VM's own MAC (from DIR/VM.mac), its
 * serial in DIR/CLOUD/VM.serial and, with `disk`, on the image sky-plan created ({disks}). It is not
 * given -S: the driver keeps the destination from running before its disks are complete. `prefix` runs
 * it elsewhere (ip netns exec NAME). A `tap` of `t{vm}{cloud}` gives each VM its own tap per cloud.
 */
export function writeLaunchScript(
  guest: Guest,
  dir: string,
  o: { announcePort?: number; tap?: string; net?: string; disk?: boolean; prefix?: string },
): string {
  const launch = join(dir, 'launch.sh');
  const line = qemuCommand(guest, {
    qmp: 'QMPSOCK',
    serial: 'SERIALPATH',
    mac: 'MACADDR',
    ...(o.announcePort === undefined ? {} : { announcePort: o.announcePort }),
    ...(o.tap === undefined ? {} : { tap: o.tap }),
    ...(o.net === undefined ? {} : { net: o.net }),
    incoming: 'defer',
    ...(o.disk ? { disk: 'DISKPATH' } : {}),
  })
    .map(shellQuote)
    .join(' ')
    .replace('QMPSOCK', '"$3"')
    .replace('SERIALPATH', `"${dir}/$2/$1.serial"`)
    .replace('MACADDR', `"$(cat ${dir}/$1.mac)"`)
    .replace('file.filename=DISKPATH', 'file.filename="$disk"')
    // `tap` may name the VM and the cloud: the word holding them is single-quoted, as `{` makes it.
    .replaceAll('{vm}', `'"$1"'`)
    .replaceAll('{cloud}', `'"$2"'`);
  // $4 is `vda=<path>`.
  const disk = o.disk ? 'disk=$(printf %s "$4" | cut -d= -f2-)\n' : '';
  writeFileSync(launch, `#!/bin/sh\n${disk}exec ${o.prefix ?? ''}${o.prefix ? ' ' : ''}${line}\n`, {
    mode: 0o755,
  });
  return launch;
}

const LOCK = join(tmpdir(), 'sky-plan-qemu-tests.lock');

/**
 * One QEMU spec file at a time: node --test runs two files at once, and two files of TCG guests on a
 * 2-core machine starved a migrated guest for over 10 s (a failure seen once in CI). A lock held by a
 * process that died is taken over.
 */
export async function holdQemuLock(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      const holder = Number(readFileSyncOr(join(LOCK, 'pid')));
      if (holder > 0 && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export function releaseQemuLock(): void {
  if (readFileSyncOr(join(LOCK, 'pid')) === String(process.pid))
    rmSync(LOCK, { recursive: true, force: true });
}

function readFileSyncOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The counter values a guest has printed on its serial port (its serial file), in order. */
export function serialTicks(serial: string): number[] {
  const text = existsSync(serial) ? readFileSync(serial, 'latin1') : '';
  return [...text.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
}

/**
 * The guest's counter goes past `after` within 10 s. It ticks every 0.2 s, but a guest under TCG on a
 * loaded 2-core machine can stall for a second or more; a fixed short wait failed once in CI.
 */
export async function ticksPast(serial: string, after: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((serialTicks(serial).at(-1) ?? -1) > after) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
