import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Disk, Inventory } from './schema.js';

const run = promisify(execFile);

/** One image of `qemu-img info --output=json --backing-chain`, top first. */
export interface ImageInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
}

/**
 * What `qemu-img info` says of an image file and the files under it, or undefined when it cannot say
 * (no qemu-img, no such file, not an image). `-U`: the running VM holds a write lock on its disk.
 */
export async function imageChain(path: string): Promise<ImageInfo[] | undefined> {
  try {
    const { stdout } = await run('qemu-img', ['info', '--output=json', '--backing-chain', '-U', path], {
      timeout: 10_000,
      maxBuffer: 4 << 20,
    });
    const chain = JSON.parse(stdout) as ImageInfo[];
    return Array.isArray(chain) && chain.length > 0 ? chain : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fills in what an inventory written by hand leaves out of its disks (format, virtual and allocated
 * bytes, backing chain) and of its images (the base's allocated bytes), from the files where they are
 * readable here. Returns one note per filled or unknown item, so a plan says what it measured.
 */
export async function fillDiskInfo(inv: Inventory): Promise<string[]> {
  const filled: string[] = [];
  const unreadable: string[] = [];
  const notes: string[] = [];
  const baseBytes = new Map<string, number>();
  for (const vm of inv.vms) {
    for (const disk of vm.disks) {
      if (complete(disk)) continue;
      const chain = await imageChain(disk.path);
      if (chain === undefined) {
        if (disk.allocatedBytes === undefined)
          unreadable.push(`VM ${vm.name}: disk ${disk.device}: ${disk.path}`);
        continue;
      }
      const [top, ...below] = chain as [ImageInfo, ...ImageInfo[]];
      disk.format ??= top.format === 'qcow2' ? 'qcow2' : 'raw';
      disk.virtualBytes ??= top['virtual-size'];
      disk.allocatedBytes ??= top['actual-size'] ?? top['virtual-size'];
      disk.backing ??= below.map((b) => b.filename);
      if (vm.image !== undefined && below.length > 0 && !baseBytes.has(vm.image))
        baseBytes.set(
          vm.image,
          below.reduce((sum, b) => sum + (b['actual-size'] ?? b['virtual-size']), 0),
        );
      filled.push(
        `VM ${vm.name}: disk ${disk.device}: ${disk.format}, ${disk.allocatedBytes} bytes allocated${disk.backing.length > 0 ? ` over ${disk.backing.join(' < ')}` : ''}`,
      );
    }
  }
  for (const img of inv.images) {
    if (img.allocatedBytes !== undefined) continue;
    let bytes = baseBytes.get(img.name);
    for (const path of Object.values(img.at ?? {})) {
      if (bytes !== undefined) break;
      const top = (await imageChain(path))?.[0];
      if (top !== undefined) bytes = top['actual-size'] ?? top['virtual-size'];
    }
    if (bytes === undefined) continue;
    img.allocatedBytes = bytes;
    notes.push(`image ${img.name}: base image ${bytes} bytes allocated (from qemu-img info)`);
  }
  return [
    ...few(filled, (n) => `and ${n} more disks`).map((d) => `${d} (from qemu-img info)`),
    ...few(unreadable, (n) => `and ${n} more disks`).map(
      (d) => `${d}: not readable by qemu-img here and no allocatedBytes, so not counted in migration bytes`,
    ),
    ...notes,
  ];
}

/** At most five items, then one that says how many more: a large inventory must not flood the plan. */
function few(items: string[], more: (n: number) => string): string[] {
  return items.length <= 5 ? items : [...items.slice(0, 5), more(items.length - 5)];
}

function complete(disk: Disk): boolean {
  return (
    disk.format !== undefined &&
    disk.virtualBytes !== undefined &&
    disk.allocatedBytes !== undefined &&
    (disk.format === 'raw' || disk.backing !== undefined)
  );
}
