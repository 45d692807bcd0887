import { posix } from 'node:path';
import { xmlText } from '../../inventory/libvirt-domain.js';
import { virsh as runVirsh } from '../../inventory/virsh.js';
import { MigrationFailed } from '../driver.js';

/** virsh, its failures as MigrationFailed (the migration did not happen). */
export function virsh(uri: string, ...args: string[]): Promise<string> {
  return runVirsh(uri, ...args).catch((err: Error) => {
    throw new MigrationFailed(err.message);
  });
}

/** The storage pool of a host whose directory holds `path`: libvirt creates volumes only in pools. */
export async function poolHolding(uri: string, path: string): Promise<string | undefined> {
  const dir = posix.dirname(path);
  const names = (await virsh(uri, 'pool-list', '--all', '--name')).split('\n').map((s) => s.trim());
  for (const name of names.filter(Boolean)) {
    const xml = await virsh(uri, 'pool-dumpxml', name);
    const target = /<target>[\s\S]*?<path>(.*?)<\/path>/.exec(xml)?.[1];
    if (target !== undefined && posix.normalize(xmlText(target)) === posix.normalize(dir)) return name;
  }
  return undefined;
}

/** Whether a host's libvirt knows a volume at `path` (after refreshing its pool). */
export async function volumeExists(uri: string, pool: string, path: string): Promise<boolean> {
  await virsh(uri, 'pool-refresh', pool);
  try {
    await virsh(uri, 'vol-info', path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The empty destination volume libvirt mirrors a disk into. libvirt makes it itself for a whole-disk
 * copy, but not for an incremental one ("pre-creation of storage targets for incremental storage
 * migration is not supported"): that needs an overlay on the destination's own base image. Creating
 * both here keeps one path, through libvirt's API, for hosts sky-plan cannot reach otherwise.
 */
export async function createVolume(
  uri: string,
  pool: string,
  path: string,
  capacity: number,
  format: string,
  backing?: { path: string; format: string },
): Promise<void> {
  await virsh(
    uri,
    'vol-create-as',
    pool,
    posix.basename(path),
    String(capacity),
    '--format',
    format,
    ...(backing === undefined ? [] : ['--backing-vol', backing.path, '--backing-vol-format', backing.format]),
  );
}

export async function deleteVolume(uri: string, path: string): Promise<void> {
  await virsh(uri, 'vol-delete', path).catch(() => undefined);
}

/** A disk's virtual size, as the running domain reports it. */
export async function diskCapacity(uri: string, vm: string, target: string): Promise<number> {
  const out = await virsh(uri, 'domblkinfo', vm, target);
  const capacity = Number(/^Capacity:\s*(\d+)/m.exec(out)?.[1]);
  if (!Number.isFinite(capacity))
    throw new MigrationFailed(`${vm}: no capacity for ${target} in: ${out.trim()}`);
  return capacity;
}
