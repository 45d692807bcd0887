import { existsSync } from 'node:fs';
import type { CaptureInput } from '../analyze.js';
import { UserError } from '../errors.js';

/**
 * Capture arguments: `file`, or `host=file` to say which hypervisor took it; `--host` flags instead pair
 * with the files in order. A path that exists is never split at '='.
 */
export function parseCaptureArgs(args: readonly string[], hosts: readonly string[]): CaptureInput[] {
  if (hosts.length > 0 && hosts.length !== args.length) {
    throw new UserError(
      'host_count_mismatch',
      `${hosts.length} --host given for ${args.length} captures: give one --host per capture, or write host=file`,
    );
  }
  return args.map((arg, i) => {
    const eq = arg.indexOf('=');
    if (eq > 0 && arg !== '-' && !existsSync(arg)) {
      return { host: arg.slice(0, eq), path: arg.slice(eq + 1) };
    }
    return { path: arg, host: hosts[i] };
  });
}
