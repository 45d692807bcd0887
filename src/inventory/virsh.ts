import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A virsh command that failed: the command and what virsh said. */
export class VirshError extends Error {}

/** `virsh -c URI ARGS...`'s output. */
export async function virsh(uri: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('virsh', ['-c', uri, ...args], { timeout: 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string; code?: string };
    const said =
      e.code === 'ENOENT'
        ? 'virsh not found (apt-get install libvirt-clients)'
        : (e.stderr || e.message).trim();
    throw new VirshError(`virsh -c ${uri} ${args.join(' ')}: ${said}`);
  }
}
