import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.js';

/**
 * Checks before any work that an output file can be written, so a mistyped path fails at once instead
 * of after a long analysis or solve.
 */
export function checkOutputPath(option: string, path: string | undefined): void {
  if (path === undefined) return;
  const dir = dirname(path);
  const kind = statSync(dir, { throwIfNoEntry: false });
  if (kind === undefined || !kind.isDirectory())
    throw new UserError('output_no_directory', `${option}: the directory ${dir} does not exist`);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new UserError('output_is_directory', `${option}: ${path} is a directory; give a file name`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UserError('output_unwritable', `${option}: no permission to write in ${dir}`);
  }
}
