import { spawn } from 'node:child_process';
import type { Cloud, Inventory } from '../inventory/schema.js';
import { fillCommand } from '../shell-quote.js';
import type { Migration } from './schedule.js';

const HOOK_TIMEOUT_MS = 30_000;

/**
 * The clouds' overlay commands for one finished migration, run in order: the destination's `arrive`,
 * then the source's `leave`. Resolves to what went wrong, or undefined; the VM runs at its destination
 * either way, so a failure is reported, not undone. Undefined when no cloud has overlay commands.
 */
export function overlayHooks(
  clouds: Map<string, Cloud>,
  inventory: Inventory,
): ((m: Migration) => Promise<string | undefined>) | undefined {
  if (![...clouds.values()].some((c) => c.overlay !== undefined)) return undefined;
  const vms = new Map(inventory.vms.map((vm) => [vm.name, vm]));
  return async (m) => {
    const nics = vms.get(m.vm)?.nics ?? [];
    const values = {
      vm: m.vm,
      macs: nics.flatMap((n) => (n.mac === undefined ? [] : [n.mac])),
      ips: nics.flatMap((n) => n.ips ?? []),
      from: m.from,
      to: m.to,
      fromHost: m.fromHost ?? '',
      toHost: m.toHost ?? '',
    };
    for (const [cloud, hook] of [
      [m.to, 'arrive'],
      [m.from, 'leave'],
    ] as const) {
      const template = clouds.get(cloud)?.overlay?.[hook];
      if (template === undefined) continue;
      const command = fillCommand(template, values);
      const failure = await run(command);
      if (failure !== undefined) return `${m.vm}: overlay ${hook} command of ${cloud} ${failure}: ${command}`;
    }
    return undefined;
  };
}

function run(command: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: HOOK_TIMEOUT_MS,
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', (err) => resolve(`could not run (${err.message})`));
    child.on('close', (code, signal) =>
      resolve(
        code === 0
          ? undefined
          : signal !== null
            ? `was stopped (${signal}, after ${HOOK_TIMEOUT_MS / 1000} s at most)`
            : `exited with ${code}${stderr.trim() === '' ? '' : ` (${stderr.trim()})`}`,
      ),
    );
  });
}
