import { execFile } from 'node:child_process';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { MigrationFailed } from '../driver.js';

const run = promisify(execFile);

/** `virsh -c URI ARGS...`'s output; a failure names the command and what virsh said. */
export async function virsh(uri: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('virsh', ['-c', uri, ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new MigrationFailed(`virsh -c ${uri} ${args.join(' ')}: ${(e.stderr || e.message).trim()}`);
  }
}

/** A file-backed disk of a running domain, as libvirt has it. */
export interface DomainDisk {
  target: string;
  path: string;
  format: string;
  /** Its backing files, nearest first (from the live XML's backingStore chain), and the nearest's format. */
  backing: string[];
  backingFormat?: string;
}

const xmlText = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : '&',
  );
const attribute = (xml: string, element: string, name: string) =>
  new RegExp(`<${element}\\b[^>]*\\b${name}=(['"])(.*?)\\1`).exec(xml)?.[2];

/**
 * The domain's file disks from `virsh dumpxml` (libvirt writes its XML in one fixed style, so its
 * <disk> elements are found by pattern; a disk never nests another). CD-ROMs and network disks are left
 * out: they are not copied.
 */
export function parseDomainDisks(xml: string): DomainDisk[] {
  const disks: DomainDisk[] = [];
  for (const match of xml.matchAll(/<disk\b([^>]*)>([\s\S]*?)<\/disk>/g)) {
    const [, head = '', body = ''] = match;
    if (!/type=['"]file['"]/.test(head) || !/device=['"]disk['"]/.test(head)) continue;
    const target = attribute(body, 'target', 'dev');
    const path = attribute(body, 'source', 'file');
    if (target === undefined || path === undefined) continue;
    const chain = body.slice(body.indexOf('<backingStore'));
    const backing = body.includes('<backingStore')
      ? [...chain.matchAll(/<source\b[^>]*\bfile=(['"])(.*?)\1/g)].map((m) => xmlText(m[2] ?? ''))
      : [];
    const backingFormat = backing.length > 0 ? attribute(chain, 'format', 'type') : undefined;
    disks.push({
      target: xmlText(target),
      path: xmlText(path),
      format: attribute(body, 'driver', 'type') ?? 'raw',
      backing,
      ...(backingFormat === undefined ? {} : { backingFormat }),
    });
  }
  return disks;
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
