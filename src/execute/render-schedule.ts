import { formatBytes } from '../text-format.js';
import type { Wave } from './schedule.js';

function duration(seconds: number): string {
  return seconds < 120 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}

/** The schedule for a human: one block per wave, each migration with its size and estimated time. */
export function renderSchedule(waves: Wave[]): string {
  const migrations = waves.reduce((s, w) => s + w.migrations.length, 0);
  const total = waves.reduce((s, w) => s + w.seconds, 0);
  const lines = [
    `${migrations} migrations in ${waves.length} waves, about ${duration(total)} at the planned WAN bandwidth`,
  ];
  waves.forEach((wave, i) => {
    lines.push(`wave ${i + 1} (about ${duration(wave.seconds)}):`);
    for (const m of wave.migrations) {
      const staging =
        m.stagingFor === undefined ? '' : ` (staging: ${m.to} has room, ${m.stagingFor} not yet)`;
      const image = m.image === null ? '' : `, image ${m.image}`;
      lines.push(`  ${m.vm}: ${m.from} → ${m.to}, ${formatBytes(m.wanBytes)}${image}${staging}`);
    }
  });
  return `${lines.join('\n')}\n`;
}
