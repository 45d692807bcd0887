import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hashKey, sha256 } from '../../src/tunnel/content-store.js';
import { tempDir } from '../helpers.js';

/**
 * `npm run bench:granularity`: which block size dedups disk data best across the WAN, 4 KiB to 64 KiB.
 * Disk images are ext4 file systems built by mke2fs from this machine's own files (real binaries,
 * libraries, documentation), so block contents and their alignment are those of real files. For each
 * block size, the WAN bytes for one image whose site store holds another: a stored or repeated block
 * costs a reference frame (39 bytes), any other its content and a 7-byte frame head. All-zero blocks
 * cost nothing at any size (QEMU's mirror writes them as zeroes). The tunnel's own block size is fixed
 * (4 KiB, shared with memory pages): this measures whether another would do better.
 */
const SIZES = [4096, 8192, 16384, 32768, 65536];
const REF_BYTES = 39;
const NEW_HEAD = 7;
const dir = tempDir();

function image(name: string, trees: string[], megabytes: number): string {
  const root = join(dir, `${name}-root`);
  mkdirSync(root);
  for (const t of trees)
    cpSync(t, join(root, t.replaceAll('/', '_')), { recursive: true, dereference: false });
  const file = join(dir, `${name}.img`);
  const r = spawnSync('mke2fs', ['-q', '-t', 'ext4', '-d', root, file, `${megabytes}M`], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`mke2fs: ${r.stderr}`);
  return file;
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

function blocks(file: string, size: number): Buffer[] {
  const data = readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) {
    const b = data.subarray(at, at + size);
    if (!isZero(b)) out.push(b);
  }
  return out;
}

/** WAN bytes for `file` into a store holding `stored`'s blocks, at one block size. */
function wanBytes(
  stored: string,
  file: string,
  size: number,
): { wan: number; plain: number; entries: number } {
  const known = new Set(blocks(stored, size).map((b) => hashKey(sha256(b))));
  let wan = 0;
  let plain = 0;
  for (const b of blocks(file, size)) {
    plain += b.length;
    const key = hashKey(sha256(b));
    if (known.has(key)) wan += REF_BYTES;
    else {
      wan += b.length + NEW_HEAD;
      known.add(key);
    }
  }
  return { wan, plain, entries: known.size };
}

/** A guest's own writes over a copy of the base: `count` random 4 KiB blocks, anywhere on the disk. */
function scattered(base: string, name: string, count: number): string {
  const file = join(dir, `${name}.img`);
  cpSync(base, file);
  const size = readFileSync(base).length;
  const fd = openSync(file, 'r+');
  for (let i = 0; i < count; i++) writeSync(fd, randomBytes(4096), 0, 4096, randomInt(size / 4096) * 4096);
  closeSync(fd);
  return file;
}

const base = image('base', ['/usr/bin', '/usr/lib/python3'], 640);
const families: [string, string, string][] = [
  // Two VMs that installed some of the same software on their own: equal files at other offsets.
  [
    'other image, shared files (python3) at other offsets',
    base,
    image('other', ['/usr/lib/python3', '/usr/share/doc'], 400),
  ],
  // A VM of the base image whose guest wrote 4 KiB blocks here and there (a database, logs, metadata).
  ['the base with 5,000 scattered 4 KiB guest writes (20 MB)', base, scattered(base, 'written', 5000)],
];
process.stdout.write(
  'WAN bytes to move one disk image into a site whose store holds another, per block size\n(relative to 4 KiB in brackets; index entries are what the store keeps in memory per block)\n',
);
for (const [label, stored, file] of families) {
  process.stdout.write(`\n${label}:\n`);
  let first = 0;
  for (const size of SIZES) {
    const r = wanBytes(stored, file, size);
    if (size === 4096) first = r.wan;
    process.stdout.write(
      `  ${String(size / 1024).padStart(2)} KiB: ${(r.wan / 1e6).toFixed(1)} MB of ${(r.plain / 1e6).toFixed(1)} MB non-zero (${(r.wan / first).toFixed(2)}x), ${r.entries} index entries\n`,
    );
  }
}
process.exit(0);
