import { formatBytes } from '../text-format.js';
import type { MigrationStep } from './driver.js';
import type { ExecuteEvent } from './execute-plan.js';

const BAR = 24;

const STEP_TEXT: Record<MigrationStep, string> = {
  'disks-created': 'disks created at the destination',
  mirror: 'mirroring disks',
  memory: 'sending memory',
  switchover: 'switching over (last disk blocks, then device state)',
};

/** JSON lines, one per event (progress at most once a second per VM): for programs and logs. */
export function jsonEvents(write: (s: string) => void): (e: ExecuteEvent) => void {
  const last = new Map<string, number>();
  return (e) => {
    if (e.type === 'progress') {
      const now = Date.now();
      if (now - (last.get(e.vm) ?? 0) < 1000) return;
      last.set(e.vm, now);
    }
    write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  };
}

/** On a terminal: a line per finished step, and a live bar per running migration, redrawn in place. */
export function terminalProgress(write: (s: string) => void): (e: ExecuteEvent) => void {
  const bars = new Map<string, string>();
  let drawn = 0;
  const redraw = (above: string[]) => {
    let out = drawn > 0 ? `\x1b[${drawn}A\x1b[J` : '';
    for (const line of above) out += `${line}\n`;
    for (const bar of bars.values()) out += `${bar}\n`;
    drawn = bars.size;
    write(out);
  };
  return (e) => {
    switch (e.type) {
      case 'wave':
        return redraw([
          `wave ${e.index + 1}: ${e.migrations.map((m) => `${m.vm} ${m.from} → ${m.to}`).join(', ')}`,
        ]);
      case 'start':
        bars.set(e.vm, `  ${e.vm}: starting`);
        return redraw([]);
      case 'progress': {
        // Disks are mirrored first; the bar follows them until memory migration starts.
        const onDisk = e.disk !== undefined && e.total === 0;
        const done = onDisk ? (e.disk?.copied ?? 0) : e.transferred;
        const whole = onDisk ? done + (e.disk?.remaining ?? 0) : e.total;
        const share = whole > 0 ? Math.min(1, done / whole) : 0;
        const filled = Math.round(share * BAR);
        const disk =
          e.disk === undefined
            ? ''
            : `disk ${formatBytes(e.disk.copied)} copied, ${formatBytes(e.disk.remaining)} left, ${formatBytes(e.disk.bytesPerSecond)}/s; `;
        const memory = onDisk
          ? 'memory next'
          : `memory ${formatBytes(e.transferred)} sent, ${formatBytes(e.remaining)} left, ${formatBytes(e.bytesPerSecond)}/s, ${e.dirtyPagesPerSecond.toFixed(0)} dirty pages/s`;
        bars.set(e.vm, `  ${e.vm} [${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${disk}${memory}`);
        return redraw([]);
      }
      case 'done':
        bars.delete(e.vm);
        return redraw([
          `  ${e.vm}: now in ${e.to} (${e.seconds.toFixed(1)} s)${e.dedup === undefined ? '' : `, ${formatBytes(e.dedup.wanBytes)} on the WAN for a ${formatBytes(e.dedup.streamBytes)} stream (${(100 * (1 - e.dedup.wanBytes / e.dedup.streamBytes)).toFixed(0)}% saved)`}`,
        ]);
      case 'failed':
        bars.delete(e.vm);
        return redraw([`  ${e.vm}: FAILED, still in ${e.from}: ${e.error}`]);
      case 'step':
        bars.set(e.vm, `  ${e.vm}: ${STEP_TEXT[e.step]}`);
        return redraw([]);
      case 'reconciled':
        return redraw([`  ${e.vm}: interrupted migration settled, runs in ${e.at}`]);
      case 'warning':
        return redraw([`  warning: ${e.message}`]);
      case 'end':
        return redraw([
          e.ok
            ? `done: ${e.done} migrations`
            : `stopped: ${e.done} done, failed: ${e.failed.join(', ') || 'none'}`,
        ]);
    }
  };
}
