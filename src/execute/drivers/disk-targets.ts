import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { imageChain } from '../../inventory/disk-info.js';
import type { Disk, Inventory, InventoryVm } from '../../inventory/schema.js';
import { MigrationFailed } from '../driver.js';

const run = promisify(execFile);

/** One disk of a moving VM: where it is mirrored to, and how much of it must be copied. */
export interface DiskCopy {
  device: string;
  source: string;
  /** The new image in the destination cloud. */
  target: string;
  format: 'raw' | 'qcow2';
  virtualBytes: number;
  /** top: only the overlay's own blocks, onto a local copy of its base; full: every allocated block. */
  sync: 'top' | 'full';
  /** The destination's copy of the base image (sync top). */
  base?: { path: string; format: string };
}

/**
 * The disks a VM takes to `cloud`. An overlay goes onto the destination's own copy of its image's base
 * (`images[].at`, or the backing file of a VM of that image already there) when there is one; otherwise
 * the whole disk is copied into a standalone image. The destination never opens a source file.
 */
export async function diskCopies(
  inv: Inventory,
  vm: InventoryVm,
  cloud: string,
  template: string,
): Promise<DiskCopy[]> {
  const copies: DiskCopy[] = [];
  for (const disk of vm.disks) {
    const top =
      disk.virtualBytes === undefined || disk.format === undefined
        ? (await imageChain(disk.path))?.[0]
        : undefined;
    const virtualBytes = disk.virtualBytes ?? top?.['virtual-size'];
    const format = disk.format ?? (top?.format === 'qcow2' ? 'qcow2' : top === undefined ? undefined : 'raw');
    if (virtualBytes === undefined || format === undefined)
      throw new MigrationFailed(
        `${vm.name}: disk ${disk.device}: no virtualBytes and format in the inventory, and qemu-img cannot read ${disk.path}`,
      );
    const target = template.replace(/\{(vm|device|cloud)\}/g, (_, key: string) =>
      key === 'vm' ? vm.name : key === 'device' ? disk.device : cloud,
    );
    const basePath = hasBacking(disk) ? baseAt(inv, vm.image, cloud) : undefined;
    const baseFormat = basePath === undefined ? undefined : (await imageChain(basePath))?.[0]?.format;
    copies.push({
      device: disk.device,
      source: disk.path,
      target,
      format: basePath === undefined ? format : 'qcow2',
      virtualBytes,
      ...(basePath === undefined || baseFormat === undefined
        ? { sync: 'full' as const }
        : { sync: 'top' as const, base: { path: basePath, format: baseFormat } }),
    });
  }
  return copies;
}

/** The empty images the destination QEMU opens and the mirrors write into. */
export async function createTargets(vm: string, copies: DiskCopy[]): Promise<void> {
  for (const c of copies) {
    const args = ['create', '-q', '-f', c.format];
    if (c.base !== undefined) args.push('-b', c.base.path, '-F', c.base.format);
    args.push(c.target, String(c.virtualBytes));
    try {
      await run('qemu-img', args, { timeout: 30_000 });
    } catch (err) {
      await removeTargets(copies);
      throw new MigrationFailed(
        `${vm}: creating the destination disk ${c.target}: ${((err as { stderr?: string }).stderr || (err as Error).message).trim()}`,
      );
    }
  }
}

export async function removeTargets(copies: DiskCopy[]): Promise<void> {
  await Promise.all(copies.map((c) => rm(c.target, { force: true })));
}

function hasBacking(disk: Disk): boolean {
  return (disk.backing?.length ?? 0) > 0;
}

/** The base image of `image` in `cloud`: listed in images[].at, or under a disk of a VM of it there. */
export function baseAt(inv: Inventory, image: string | undefined, cloud: string): string | undefined {
  if (image === undefined) return undefined;
  const listed = inv.images.find((img) => img.name === image)?.at?.[cloud];
  if (listed !== undefined) return listed;
  const hostCloud = new Map(inv.hosts.map((h) => [h.name, h.cloud]));
  for (const vm of inv.vms) {
    const at = vm.cloud ?? (vm.host === undefined ? undefined : hostCloud.get(vm.host));
    if (vm.image !== image || at !== cloud) continue;
    const bottom = vm.disks.find(hasBacking)?.backing?.at(-1);
    if (bottom !== undefined) return bottom;
  }
  return undefined;
}
