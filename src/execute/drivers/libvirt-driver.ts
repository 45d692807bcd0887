import { spawn, spawnSync } from 'node:child_process';
import type { Cloud } from '../../inventory/schema.js';
import { type MigrationDriver, MigrationFailed, type MigrationProgress } from '../driver.js';
import type { Migration } from '../schedule.js';
import { libvirt, virshMigrate } from './virsh-command.js';

/**
 * Runs `virsh migrate --live --persistent --undefinesource` per migration; progress from virsh's
 * --verbose percentage. libvirt leaves the source running when a migration fails.
 */
export class LibvirtDriver implements MigrationDriver {
  readonly name = 'libvirt';

  constructor(private readonly clouds: Map<string, Cloud>) {}

  async preflight(migrations: Migration[]): Promise<string[]> {
    const problems: string[] = [];
    for (const m of migrations) {
      const unset = [m.from, m.to].filter((cloud) => this.clouds.get(cloud)?.libvirt === undefined);
      for (const cloud of unset) problems.push(`cloud ${cloud} has no libvirt uri`);
      if (unset.length > 0) continue;
      const state = domstate(libvirt(this.clouds, m.from).uri, m.vm);
      if (state !== 'running')
        problems.push(`${m.vm} is not running in ${m.from} (virsh domstate: ${state})`);
    }
    return [...new Set(problems)];
  }

  migrate(m: Migration, progress: (p: MigrationProgress) => void): Promise<undefined> {
    const [command, ...args] = virshMigrate(this.clouds, m) as [string, ...string[]];
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let errors = '';
      const onOutput = (chunk: Buffer) => {
        const text = chunk.toString();
        for (const match of text.matchAll(/Migration: \[\s*(\d+)\s*%\]/g)) {
          const percent = Number(match[1]);
          const total = m.wanBytes;
          progress({
            transferred: (total * percent) / 100,
            remaining: (total * (100 - percent)) / 100,
            total,
            bytesPerSecond: 0,
            dirtyPagesPerSecond: 0,
          });
        }
        errors += text.replace(/Migration: \[[^\]]*\]/g, '');
      };
      child.stdout.on('data', onOutput);
      child.stderr.on('data', onOutput);
      child.on('error', (err) => reject(new MigrationFailed(`${m.vm}: cannot run virsh: ${err.message}`)));
      child.on('close', (code) =>
        code === 0
          ? resolve(undefined)
          : reject(new MigrationFailed(`${m.vm}: virsh migrate exited with ${code}: ${errors.trim()}`)),
      );
    });
  }

  async reconcile(m: Migration): Promise<'source' | 'destination'> {
    if (domstate(libvirt(this.clouds, m.to).uri, m.vm) === 'running') return 'destination';
    const source = libvirt(this.clouds, m.from).uri;
    if (domstate(source, m.vm) === 'paused') spawnSync('virsh', ['-c', source, 'resume', m.vm]);
    return 'source';
  }
}

function domstate(uri: string, vm: string): string {
  const r = spawnSync('virsh', ['-c', uri, 'domstate', vm], { encoding: 'utf8' });
  if (r.error !== undefined) return `virsh not found (${r.error.message})`;
  return r.status === 0 ? r.stdout.trim() : r.stderr.trim() || `exit ${r.status}`;
}
