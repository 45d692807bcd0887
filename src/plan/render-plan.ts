import { formatBytes, formatCount, formatMoney, formatPercent, textTable } from '../text-format.js';
import { moveReason } from './move-reason.js';
import type { PlanDocument } from './plan-document.js';

const TOP_MOVES = 20;

/** The human view of a plan: what it saves, how it was found, and each move with its reason. */
export function renderPlan(doc: PlanDocument): string {
  const out: string[] = [];
  const { before, after, solver } = doc;
  const vms = Object.keys(doc.placement).length;
  const days = doc.horizonSeconds / 86400;
  const status = solver.optimal
    ? 'proven optimal'
    : solver.gap !== null
      ? `gap ${(solver.gap * 100).toFixed(2)}%`
      : 'heuristic';
  out.push(
    `sky-plan plan: ${vms} VMs, ${before.load.length} clouds, horizon ${days.toFixed(days < 10 ? 1 : 0)} days`,
  );
  out.push(`  solver: ${solver.name}, ${status}, ${solver.seconds.toFixed(2)} s (seed ${solver.seed})`);
  out.push(`  why: ${solver.reason}`);
  for (const note of [...solver.notes, ...doc.notes]) out.push(`  note: ${note}`);
  out.push('', 'Cost over the horizon');
  const rows = (['egress', 'internet', 'compute', 'migration', 'total'] as const).map((part) => {
    const b = before.cost[part];
    const a = after.cost[part];
    const change = a - b;
    return [
      part === 'egress' ? 'egress between clouds' : part === 'internet' ? 'internet and fixed peers' : part,
      formatMoney(b),
      formatMoney(a),
      Math.abs(change) < 0.005 ? '-' : `${change < 0 ? '-' : '+'}${formatMoney(Math.abs(change))}`,
      part === 'total' ? formatPercent(change, b) : '',
    ];
  });
  out.push(textTable(['', 'before', 'after', 'change', ''], rows));
  out.push(
    '',
    `Cross-cloud traffic: ${formatBytes(before.crossCloudBytesPerSecond)}/s before, ${formatBytes(after.crossCloudBytesPerSecond)}/s after`,
  );
  out.push(
    textTable(
      ['cloud', 'VMs before', 'VMs after', 'vCPUs after', 'GiB after'],
      after.load.map((l, i) => [
        l.cloud,
        formatCount(before.load[i]?.vms ?? 0),
        formatCount(l.vms),
        formatCount(l.vcpus),
        formatCount(Math.round(l.memoryGiB)),
      ]),
    ),
  );
  if (doc.moves.length === 0) {
    out.push('', 'No move pays for itself over the horizon: keep the current placement.');
    return `${out.join('\n')}\n`;
  }
  const minutes = after.migrationSeconds / 60;
  out.push(
    '',
    `Moves: ${doc.moves.length}, ${formatBytes(after.migrationBytes)} over the WAN (dedup-aware), ${minutes.toFixed(1)} min at the given WAN bandwidth if run one after another`,
  );
  out.push(
    textTable(
      ['VM', 'from', 'to', 'memory', 'disk', 'cost', 'because it'],
      doc.moves
        .slice(0, TOP_MOVES)
        .map((m) => [
          m.vm,
          m.fromHost === null ? m.from : `${m.from} (${m.fromHost})`,
          m.toHost === null ? m.to : `${m.to} (${m.toHost})`,
          formatBytes(m.memoryBytes),
          formatBytes(m.diskBytes),
          formatMoney(m.cost),
          moveReason(m),
        ]),
    ),
  );
  if (doc.moves.length > TOP_MOVES) out.push(`  … and ${doc.moves.length - TOP_MOVES} more (see --json)`);
  for (const s of doc.sharedContent)
    out.push(
      `  image ${s.image}: ${formatBytes(s.bytes)} of shared content sent once to ${s.to}${s.diskBytes > 0 ? ` (${formatBytes(s.diskBytes)} of it the base disk image)` : ''}`,
    );
  return `${out.join('\n')}\n`;
}
