import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { COUNTER_OFFSET } from './guest.js';

/**
 * Writes `length` random bytes at `offset` of a qcow2 image and returns them. Random, not a pattern:
 * identical blocks would deduplicate among themselves and hide what crosses between VMs.
 */
export function writeRandom(image: string, offset: number, length: number): Buffer {
  const data = randomBytes(length);
  const file = `${image}.data`;
  writeFileSync(file, data);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -s ${file} ${offset} ${length}`, image], {
    stdio: 'pipe',
  });
  return data;
}

/** A disk's guest-visible content, read from its image file (the QEMU using it stopped or paused). */
export function diskContent(image: string): Buffer {
  const raw = `${image}.raw`;
  execFileSync('qemu-img', ['convert', '-U', '-O', 'raw', image, raw]);
  return readFileSync(raw);
}

/** The number the guest last wrote to its disk's counter sector. */
export function diskCounter(disk: Buffer): number {
  const text = disk.subarray(COUNTER_OFFSET, COUNTER_OFFSET + 64).toString('latin1');
  const m = /count (\d+)/.exec(text);
  assert.ok(m !== null, `a counter on disk: ${JSON.stringify(text.slice(0, 20))}`);
  return Number(m[1]);
}
